#!/usr/bin/env node
'use strict';
// A safety officer's view of a trial: incidence tables, the signals raised so
// far, and a watch that prints signal changes as they happen.
//
// Reads SafetyService.GetIncidence (every page, in the columns view) for each
// requested level and prints, per term, subjects with >= 1 event /
// denominator for every dose group and the total at one timepoint
// (cumulative: denominator = subjects dosed; --interval: events in the
// timepoint's window, denominator = subjects at risk). Then lists
// SignalService.ListSignals and, with --watch-seconds, follows
// SignalService.WatchSignals from the newest change listed, so that no
// change is missed or printed twice.
//
//   node safety_officer.js --server 127.0.0.1:50051 --trial MSC-IPF-EX1 \
//       --level overall --level pt --watch-seconds 60
//
// Exit status: 0, or 1 if --max-events changes were not seen within
// --watch-seconds, 2 on an RPC error.

const { parseArgs } = require('node:util');
const {
  grpc, CONNECTION_OPTIONS, CONNECTION_USAGE, connect, connectionFromArgs, call, describeError,
} = require('./lib/aesignal');

const LEVELS = { pt: 'TERM_LEVEL_PT', soc: 'TERM_LEVEL_SOC', overall: 'TERM_LEVEL_OVERALL' };
const TOTAL = ''; // dose_group_id of the all-groups total

// Subjects with >= 1 event of a denominator. Number(): counts are int64
// today (strings with longs: String) and may become int32 (numbers).
class Count {
  constructor(subjects, denominator) {
    this.subjects = Number(subjects);
    this.denominator = Number(denominator);
  }

  toString() {
    const percent = this.denominator ? (100 * this.subjects) / this.denominator : 0;
    return `${this.subjects}/${this.denominator} (${percent.toFixed(0)}%)`;
  }
}

function termName(term) {
  if (term.level === 'TERM_LEVEL_PT') return `${term.soc} / ${term.pt}`;
  if (term.level === 'TERM_LEVEL_SOC') return term.soc;
  return term.overall_key;
}

// [{term, cells: {dose_group_id (TOTAL for the total): Count}}] of one level
// at one timepoint, every page.
async function incidence(safety, trialId, level, timepointId, interval = false) {
  // The columns view: this view computes its own percentages, and counts as
  // packed arrays are the quickest shape of a large table.
  const request = {
    parent: `trials/${trialId}`,
    level,
    timepoint_id: timepointId,
    page_size: 1000,
    view: 'INCIDENCE_VIEW_COLUMNS',
  };
  const rows = [];
  for (;;) {
    const response = await call(safety, 'GetIncidence', request);
    const { columns } = response;
    const subjects = interval ? columns.interval_subjects : columns.cumulative_subjects;
    const width = columns.cells.length; // term t's cell c is at t * width + c
    response.terms.forEach((term, t) => {
      const cells = {};
      columns.cells.forEach((cell, c) => {
        const denominator = interval ? cell.n_at_risk : cell.n_dosed;
        cells[cell.dose_group_id] = new Count(subjects[t * width + c], denominator);
      });
      rows.push({ term: termName(term), cells });
    });
    if (!response.next_page_token) return rows;
    request.page_token = response.next_page_token;
  }
}

// A plain-text table: a term column, then one per [id, heading].
function formatTable(title, columns, rows) {
  const header = ['term', ...columns.map(([, heading]) => heading)];
  const body = rows.map((row) => [row.term,
    ...columns.map(([key]) => (row.cells[key] ? String(row.cells[key]) : ''))]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((line) => line[i].length)));
  const format = (line) => line.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [title, format(header), ...body.map(format)].join('\n');
}

// Every signal of the trial, newest first.
async function listSignals(signals, trialId) {
  const request = { parent: `trials/${trialId}`, page_size: 1000 };
  const all = [];
  for (;;) {
    const response = await call(signals, 'ListSignals', request);
    all.push(...response.signals);
    if (!response.next_page_token) return all;
    request.page_token = response.next_page_token;
  }
}

function formatSignal(signal) {
  const e = signal.evidence;
  return `${signal.signal_id}  ${signal.status.replace(/^SIGNAL_STATUS_/, '')}  ` +
    `${Number(e.subjects)}/${Number(e.denominator)}  ${e.summary}`;
}

function formatChange(change) {
  return `change ${change.change_sequence}: ${change.event.kind.replace(/^KIND_/, '')} ` +
    formatSignal(change.signal);
}

// Signal changes after `afterSequence`, for at most `seconds` or until
// `maxEvents` changes arrived. Resolves to the WatchSignalsResponses.
async function watchSignals(signals, trialId, afterSequence, seconds, { maxEvents, onChange } = {}) {
  const stream = signals.WatchSignals(
    { parent: `trials/${trialId}`, after_sequence: String(afterSequence) },
    { deadline: Date.now() + seconds * 1000 });
  // The loop below receives errors; this listener keeps the cancellation
  // that follows an early stop from being an unhandled 'error'.
  stream.on('error', () => {});
  const changes = [];
  try {
    for await (const change of stream) {
      changes.push(change);
      if (onChange) onChange(change);
      if (maxEvents !== undefined && changes.length >= maxEvents) {
        stream.cancel();
        break;
      }
    }
  } catch (err) {
    // The deadline is how a bounded watch ends; anything else is an error.
    if (err.code !== grpc.status.DEADLINE_EXCEEDED) throw err;
  }
  return changes;
}

async function run(clients, args) {
  const trial = await call(clients.trials, 'GetTrial', { name: `trials/${args.trial}` });
  const timepoint = args.timepoint || trial.timepoints[trial.timepoints.length - 1].timepoint_id;
  const columns = trial.dose_groups.map((g) => [g.dose_group_id, g.dose_group_id]);
  columns.push([TOTAL, 'total']);
  const kind = args.interval ? 'in the window, of subjects at risk' : 'cumulative, of subjects dosed';
  for (const level of args.levels) {
    const rows = await incidence(clients.safety, args.trial, LEVELS[level], timepoint, args.interval);
    console.log(formatTable(`${level.toUpperCase()} incidence at ${timepoint} (${kind})`, columns, rows));
    console.log();
  }

  const signals = await listSignals(clients.signals, args.trial);
  console.log(`signals: ${signals.length}`);
  for (const signal of signals) console.log(`  ${formatSignal(signal)}`);
  if (!args.watchSeconds) return 0;

  const after = Math.max(0, ...signals.map((s) => Number(s.change_sequence)));
  console.log(`watching trials/${args.trial} for signal changes after sequence ${after} ` +
    `for ${args.watchSeconds} s`);
  const changes = await watchSignals(clients.signals, args.trial, after, args.watchSeconds, {
    maxEvents: args.maxEvents,
    onChange: (change) => console.log(`  ${formatChange(change)}`),
  });
  console.log(`signal changes: ${changes.length}`);
  return args.maxEvents !== undefined && changes.length < args.maxEvents ? 1 : 0;
}

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string', default: '127.0.0.1:50051' },
      trial: { type: 'string' },
      level: { type: 'string', multiple: true },
      timepoint: { type: 'string' },
      interval: { type: 'boolean', default: false },
      'watch-seconds': { type: 'string', default: '0' },
      'max-events': { type: 'string' },
      ...CONNECTION_OPTIONS,
    },
  });
  const levels = values.level || ['overall', 'pt'];
  if (!values.trial || levels.some((l) => !(l in LEVELS))) {
    console.error('usage: safety_officer.js [--server HOST:PORT] --trial ID ' +
      '[--level pt|soc|overall]... [--timepoint ID] [--interval] ' +
      `[--watch-seconds S] [--max-events N] ${CONNECTION_USAGE}`);
    return 2;
  }
  const clients = connect(values.server, connectionFromArgs(values));
  try {
    return await run(clients, {
      trial: values.trial,
      levels,
      timepoint: values.timepoint,
      interval: values.interval,
      watchSeconds: Number(values['watch-seconds']),
      maxEvents: values['max-events'] === undefined ? undefined : Number(values['max-events']),
    });
  } catch (err) {
    if (err.code === undefined) throw err;
    console.error(`safety_officer: ${describeError(err)}`);
    return 2;
  } finally {
    clients.close();
  }
}

module.exports = { Count, TOTAL, LEVELS, incidence, listSignals, watchSignals, formatTable };

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
    console.error(`safety_officer: ${err.message}`);
    process.exitCode = 2;
  });
}
