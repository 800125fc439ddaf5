#!/usr/bin/env node
'use strict';
// A trial site streaming adverse-event reports to aesignal.
//
// Reads reports from a JSON Lines file (one aesignal.v1.AdverseEventReport
// per line, with the .proto field names, enums by name), sends them in
// batches over IngestService.StreamReports and prints every report's outcome.
//
// A batch counts as delivered only once its response (the ack) arrives: the
// server answers after the batch is durable. If the stream breaks, the site
// reconnects and sends again only the batches that were not acknowledged;
// sending a report again is safe because the same report_id + version with
// the same content comes back DUPLICATE.
//
//   node site.js --server 127.0.0.1:50051 --trial MSC-IPF-EX1 reports.jsonl
//
// Exit status: 0 every report acknowledged and none rejected, 1 a report
// rejected or a batch refused, 2 a line of the file that is not a report
// (not UTF-8, not JSON, not an AdverseEventReport: FILE:LINE: why, and
// nothing is sent), reports left unacknowledged or another error.

const fs = require('node:fs');
const { parseArgs } = require('node:util');
const { setTimeout: sleep } = require('node:timers/promises');
const {
  grpc, CODE_NAMES, CONNECTION_OPTIONS, CONNECTION_USAGE, connect, connectionFromArgs,
  describeError, jsonProblem, rejectedFields,
} = require('./lib/aesignal');

// Stream errors after which the unacknowledged batches can simply be sent
// again: the connection or the server went away, nothing is wrong with them.
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

function statusOf(outcome) {
  if (outcome.result) return outcome.result.status.replace(/^REPORT_STATUS_/, '');
  if (outcome.batchError) return 'REFUSED';
  return 'UNACKNOWLEDGED';
}

// One StreamReports call: sends `batches`, at most `window` of them
// unacknowledged at a time, and awaits onResponse for every response in
// order. Rejects with the gRPC error if the stream fails.
async function sendBatches(ingest, parent, batches, { window, timeoutMs, sent, onResponse }) {
  const call = ingest.StreamReports({ deadline: Date.now() + timeoutMs });
  let closed = false;
  // The loop below receives the error; this listener keeps a failure that
  // arrives after the loop has stopped from being an unhandled 'error'.
  call.on('error', () => {});
  call.on('status', () => { closed = true; });
  let ended = false;
  let next = 0;
  let inFlight = 0;
  const fill = () => {
    while (!closed && inFlight < window && next < batches.length) {
      const batch = batches[next++];
      inFlight++;
      sent.push(batch.batchId);
      call.write({ batch_id: String(batch.batchId), parent, reports: batch.reports });
    }
    if (!closed && !ended && next === batches.length) {
      ended = true; // half-close: the server ends the call after the last ack
      call.end();
    }
  };
  fill();
  for await (const response of call) {
    await onResponse(response);
    inFlight--;
    fill();
  }
}

// Resolves once the client's channel is connected, or rejects after
// `timeoutMs` (e.g. while the server restarts).
function waitForServer(client, timeoutMs) {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
  });
}

// Streams `reports` to trials/{trialId} until every batch is acknowledged
// (or `attempts` connections failed). Each attempt waits up to
// `connectTimeoutMs` for the server; `timeoutMs` is the deadline of one
// stream. Returns {outcomes, sent, error}: one
// outcome per report in input order ({line, report, status, result,
// batchError}), the batch ids handed to the stream per connection attempt
// (after a reconnect only unacknowledged ones appear again), and a
// non-retryable stream error if one ended it.
async function streamReports(ingest, trialId, reports, options = {}) {
  const {
    batchSize = 100, window = 8, attempts = 5, connectTimeoutMs = 10000, timeoutMs = 300000,
    lines = reports.map((_, i) => i + 1), onAck = null,
    log = (message) => console.error(`site: ${message}`),
  } = options;
  const parent = `trials/${trialId}`;
  const outcomes = reports.map((report, i) => ({
    line: lines[i], report, result: null, batchError: null,
    get status() { return statusOf(this); },
  }));
  const pending = new Map(); // batch id -> batch; acknowledged batches leave
  for (let start = 0; start < reports.length; start += batchSize) {
    const batchId = pending.size + 1;
    pending.set(batchId, { batchId, start, reports: reports.slice(start, start + batchSize) });
  }

  const record = async (response) => {
    const batch = pending.get(Number(response.batch_id));
    if (!batch) return; // not one we are waiting for
    pending.delete(batch.batchId);
    if (response.error) {
      if (response.error.code === grpc.status.UNAVAILABLE) {
        pending.set(batch.batchId, batch); // not stored: send again
        log(`batch ${batch.batchId} not stored (${response.error.message}); will resend`);
      } else {
        for (let i = 0; i < batch.reports.length; i++) {
          outcomes[batch.start + i].batchError = response.error;
        }
      }
    } else {
      for (const r of response.result.results) outcomes[batch.start + r.index].result = r;
    }
    if (onAck) await onAck(response);
  };

  const summary = { outcomes, sent: [], error: null };
  for (let attempt = 0; attempt < attempts && pending.size > 0; attempt++) {
    if (attempt > 0) {
      // Exponential backoff between reconnects, capped.
      await sleep(Math.min(250 * 2 ** attempt, 4000));
      log(`reconnecting (attempt ${attempt + 1} of ${attempts}); ` +
        `resending ${pending.size} unacknowledged batches`);
    }
    try {
      await waitForServer(ingest, connectTimeoutMs);
    } catch {
      log(`${pending.size} batches unacknowledged: server not reachable ` +
        `within ${connectTimeoutMs / 1000} s`);
      continue;
    }
    const sent = [];
    summary.sent.push(sent);
    try {
      await sendBatches(ingest, parent, [...pending.values()],
        { window, timeoutMs, sent, onResponse: record });
    } catch (err) {
      if (!RETRYABLE.has(err.code)) {
        summary.error = err;
        break;
      }
      log(`stream broken: ${CODE_NAMES[err.code]}: ${err.details}`);
    }
  }
  return summary;
}

// Strict UTF-8: a byte that is not UTF-8 is an error, not U+FFFD (which
// readFileSync(file, 'utf8') would store in its place without a word). A BOM
// is kept, so that JSON.parse names it rather than it vanishing.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// A UTF-16 surrogate without its other half (JSON "\ud800" is valid JSON but
// not Unicode text): it cannot be encoded as UTF-8, so gRPC would fail the
// whole stream with INTERNAL and no reason.
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// The path (pt, aesi[1]) of the first string in `value` (parsed JSON) with
// an unpaired surrogate, or null.
function unpairedSurrogateAt(value, where) {
  if (typeof value === 'string') return UNPAIRED_SURROGATE.test(value) ? where : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = unpairedSurrogateAt(value[i], `${where}[${i}]`);
      if (at) return at;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const at = unpairedSurrogateAt(item, where ? `${where}.${key}` : key);
      if (at) return at;
    }
  }
  return null;
}

// {reports, lines} from a JSON Lines file; blank lines skipped. Throws,
// naming file and line, for a line that is not UTF-8, is not an
// AdverseEventReport in proto JSON (.proto field names, enums by name) — a
// misspelt field or enum name included — or has a string with an unpaired
// surrogate.
function loadReports(file) {
  const reports = [];
  const lines = [];
  const bytes = fs.readFileSync(file);
  // Line by line on the bytes: a newline byte is never part of a multibyte
  // UTF-8 sequence, so the line that is not UTF-8 can be named.
  let start = 0;
  for (let i = 0; start <= bytes.length; i++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const raw = bytes.subarray(start, end);
    start = end + 1;
    let text;
    try {
      text = UTF8.decode(raw);
    } catch {
      throw new Error(`${file}:${i + 1}: not UTF-8`);
    }
    if (!text.trim()) continue;
    let report;
    try {
      report = JSON.parse(text);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: ${err.message}`);
    }
    // Nothing is sent from a file with a line that is not a report.
    const problem = jsonProblem('aesignal.v1.AdverseEventReport', report);
    if (problem) throw new Error(`${file}:${i + 1}: ${problem}`);
    const surrogate = unpairedSurrogateAt(report, '');
    if (surrogate) throw new Error(`${file}:${i + 1}: field ${surrogate}: unpaired surrogate`);
    reports.push(report);
    lines.push(i + 1);
  }
  return { reports, lines };
}

// One output line for an outcome.
function describe(outcome) {
  const { report: r, result } = outcome;
  let text = `line ${outcome.line}: ${r.report_id} v${r.version} ${outcome.status}`;
  if (result && outcome.status === 'REJECTED') {
    // Every problem the server named, within its batch (reports[7].grade);
    // the line number already says which report.
    const problems = rejectedFields(result)
      .map(({ field, reason }) => `${field.replace(/^reports\[\d+\]\.?/, '')}: ${reason}`)
      .join('; ');
    text += ` ${problems} [${CODE_NAMES[result.code] || result.code}]`;
  } else if (outcome.batchError) {
    const e = outcome.batchError;
    text += ` ${CODE_NAMES[e.code] || e.code}: ${e.message}`;
  }
  return text;
}

async function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string', default: '127.0.0.1:50051' },
      trial: { type: 'string' },
      'batch-size': { type: 'string', default: '100' },
      window: { type: 'string', default: '8' },
      attempts: { type: 'string', default: '5' },
      'connect-timeout': { type: 'string', default: '10' },
      timeout: { type: 'string', default: '300' },
      ...CONNECTION_OPTIONS,
    },
  });
  if (!values.trial || positionals.length !== 1) {
    console.error('usage: site.js [--server HOST:PORT] --trial ID [--batch-size N] ' +
      '[--window N] [--attempts N] [--connect-timeout SECONDS] [--timeout SECONDS] ' +
      `${CONNECTION_USAGE} REPORTS.jsonl`);
    return 2;
  }
  const { reports, lines } = loadReports(positionals[0]);
  const clients = connect(values.server, connectionFromArgs(values));
  let summary;
  try {
    summary = await streamReports(clients.ingest, values.trial, reports, {
      batchSize: Number(values['batch-size']),
      window: Number(values.window),
      attempts: Number(values.attempts),
      connectTimeoutMs: Number(values['connect-timeout']) * 1000,
      timeoutMs: Number(values.timeout) * 1000,
      lines,
    });
  } finally {
    clients.close();
  }
  for (const outcome of summary.outcomes) console.log(describe(outcome));
  const counts = {};
  for (const s of ['ACCEPTED', 'DUPLICATE', 'SUPERSEDED', 'REJECTED', 'REFUSED', 'UNACKNOWLEDGED']) {
    counts[s] = summary.outcomes.filter((o) => o.status === s).length;
  }
  console.log(`${reports.length} reports: ` +
    Object.entries(counts).map(([s, n]) => `${s.toLowerCase()} ${n}`).join(', '));
  if (summary.error) {
    console.error(`site: ${describeError(summary.error)}`);
    return 2;
  }
  if (counts.UNACKNOWLEDGED) return 2;
  return counts.REJECTED || counts.REFUSED ? 1 : 0;
}

module.exports = { streamReports, loadReports, describe };

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
    console.error(`site: ${err.message}`);
    process.exitCode = 2;
  });
}
