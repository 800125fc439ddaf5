'use strict';
// The Node example clients against a real aesignald (test/run.sh sets
// AESIGNALD and installs the packages; `npm test` works too with AESIGNALD
// set).
//
// The trial mirrors tests/integration/signals_server_test.cc: three dose
// groups of three subjects (S1..S9 round-robin, so S3, S6, S9 are HIGH),
// only the binomial method, and a 2 % baseline for any serious AE in HIGH by
// month 3, which two serious AEs in HIGH cross.

const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { setTimeout: sleep } = require('node:timers/promises');
const { describe, it, before, after } = require('node:test');

const aesignal = require('../lib/aesignal');
const site = require('../site');
const officer = require('../safety_officer');

const { grpc, call } = aesignal;
const AESIGNALD = process.env.AESIGNALD;
// Generous for sanitizer builds of aesignald; a normal run takes ~1 s.
const WAIT_MS = 30000;
const SIGNAL_ID = 'BINOMIAL~OVERALL~any_sae~HIGH~M3';
const INFECTIONS = 'Infections and infestations';

// Four reports: S3 (HIGH) a pyrexia and a serious pneumonia, S6 (HIGH) a
// serious pneumonia, S1 (LOW) a headache.
const REPORTS = [
  {
    report_id: 'R1', version: 1, site_id: '01', subject_id: 'S3', onset_study_day: 10,
    pt: 'Pyrexia', soc: 'General disorders and administration site conditions', grade: 1,
  },
  {
    report_id: 'R2', version: 1, site_id: '01', subject_id: 'S3', onset_study_day: 20,
    pt: 'Pneumonia', soc: INFECTIONS, grade: 3, serious: true, hospitalization: true,
    relatedness: 'RELATEDNESS_POSSIBLE',
  },
  {
    report_id: 'R3', version: 1, site_id: '01', subject_id: 'S6', onset_study_day: 30,
    pt: 'Pneumonia', soc: INFECTIONS, grade: 4, serious: true, hospitalization: true,
  },
  {
    report_id: 'R4', version: 1, site_id: '01', subject_id: 'S1', timepoint_id: 'M3',
    pt: 'Headache', soc: 'Nervous system disorders', grade: 1,
  },
];

// aesignald on 127.0.0.1 with its own data dir; restartable on the same
// port, as a site sees a server restart.
class Server {
  constructor(workDir) {
    this.dataDir = path.join(workDir, 'data');
    this.logPath = path.join(workDir, 'server.log');
    this.port = 0;
  }

  async start(port = 0, flags = []) {
    const log = fs.openSync(this.logPath, 'w');
    this.process = spawn(AESIGNALD,
      [`--listen=127.0.0.1:${port}`, '--http_listen=127.0.0.1:0',
        `--data_dir=${this.dataDir}`, ...flags],
      { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    // once() rejects if the binary cannot be started ('error'); the loop
    // below reports that.
    let failure = null;
    this.exited = once(this.process, 'exit').catch((err) => { failure = err; });
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      const text = fs.readFileSync(this.logPath, 'utf8');
      const m = /^aesignald listening on 127\.0\.0\.1:(\d+)/m.exec(text);
      if (m) {
        this.port = Number(m[1]);
        return;
      }
      if (failure) throw failure;
      if (this.process.exitCode !== null) throw new Error(`aesignald exited: ${text}`);
      await sleep(50);
    }
    throw new Error('aesignald did not report its port');
  }

  get target() { return `127.0.0.1:${this.port}`; }

  async kill() {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  async stop() {
    if (!this.process || this.process.exitCode !== null || this.process.signalCode) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), WAIT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

function makeTrial(trialId) {
  return {
    trial_id: trialId,
    title: 'Node client test',
    dose_groups: ['LOW', 'MID', 'HIGH'].map((id) => ({ dose_group_id: id, label: id })),
    timepoints: [['M3', 91], ['M6', 182], ['M12', 365]]
      .map(([id, day]) => ({ timepoint_id: id, study_day: day })),
    sites: [{ site_id: '01' }],
    signal_policy: {
      disable_bayesian: true, disable_control: true, disable_trend: true, disable_over_time: true,
    },
  };
}

async function setUpTrial(clients, trialId) {
  await call(clients.trials, 'CreateTrial', { trial: makeTrial(trialId) });
  const subjects = [];
  for (let i = 1; i <= 9; i++) {
    subjects.push({
      subject_id: `S${i}`, site_id: '01', dose_group_id: ['LOW', 'MID', 'HIGH'][(i - 1) % 3],
      last_contact_day: 365,
    });
  }
  const enrolled = await call(clients.trials, 'EnrollSubjects',
    { parent: `trials/${trialId}`, subjects });
  assert.equal(enrolled.created_count, 9);
  await call(clients.signals, 'PutBaselines', {
    parent: `trials/${trialId}`,
    baselines: [{
      baseline_id: 'sae', level: 'TERM_LEVEL_OVERALL', overall_key: 'any_sae',
      timepoint_id: 'M3', dose_group_id: 'HIGH', expected_proportion: 0.02, citation: 'test',
    }],
  });
}

// Starts one example program; `lines` yields its stdout line by line.
function startExample(script, args) {
  const child = spawn(process.execPath, [path.join(__dirname, '..', script), ...args]);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  let stdout = '';
  let stderr = '';
  const waiters = [];
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    waiters.forEach((w) => w());
  });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = once(child, 'close').then(([code]) => ({ code, stdout, stderr }));
  // Resolves once stdout has a line matching `pattern`.
  const waitFor = (pattern) => new Promise((resolve, reject) => {
    const check = () => {
      if (new RegExp(pattern, 'm').test(stdout)) resolve(stdout);
    };
    waiters.push(check);
    check();
    exited.then(() => reject(new Error(`no line matching ${pattern} in:\n${stdout}${stderr}`)));
  });
  return { child, exited, waitFor };
}

async function runExample(script, args) {
  const { child, exited } = startExample(script, args);
  const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
  const result = await exited;
  clearTimeout(timer);
  return result;
}

function writeReports(dir, name, reports) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, reports.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

// The cells of `term`'s row in a safety_officer table.
function tableRow(output, term) {
  const line = output.split('\n').find((l) => l.startsWith(`${term}  `));
  assert.ok(line, `no row ${term} in:\n${output}`);
  return line.trim().split(/\s{2,}/).slice(1);
}

describe('example clients', () => {
  let work;
  let server;
  let clients;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'aesignal-node-'));
    server = new Server(work);
    await server.start();
    clients = aesignal.connect(server.target);
  });

  after(async () => {
    if (clients) clients.close();
    if (server) await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('site streams, the officer reads the tables and the watch sees the signal', async () => {
    await setUpTrial(clients, 'JS1');
    // The watcher runs before the data crosses the baseline.
    const watcher = startExample('safety_officer.js', ['--server', server.target,
      '--trial', 'JS1', '--level', 'overall', '--watch-seconds', String(WAIT_MS / 1000),
      '--max-events', '1']);
    try {
      const before = await watcher.waitFor('^watching trials/JS1');
      assert.match(before, /^signals: 0$/m);

      const reports = writeReports(work, 'reports.jsonl', REPORTS);
      const run = await runExample('site.js', ['--server', server.target, '--trial', 'JS1',
        '--batch-size', '2', reports]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.stdout.trimEnd().split('\n'), [
        'line 1: R1 v1 ACCEPTED', 'line 2: R2 v1 ACCEPTED',
        'line 3: R3 v1 ACCEPTED', 'line 4: R4 v1 ACCEPTED',
        '4 reports: accepted 4, duplicate 0, superseded 0, rejected 0, refused 0, unacknowledged 0',
      ]);

      // The watch reports the raised signal and stops after one change.
      const watched = await watcher.exited;
      assert.equal(watched.code, 0, watched.stderr);
      assert.match(watched.stdout,
        new RegExp(`change \\d+: RAISED ${SIGNAL_ID}  NEW  2/3  `));
      assert.match(watched.stdout, /^signal changes: 1$/m);

      // Sending the same file again is safe: every report a duplicate.
      const again = await runExample('site.js', ['--server', server.target, '--trial', 'JS1',
        reports]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^line 3: R3 v1 DUPLICATE$/m);
      assert.match(again.stdout, /4 reports: accepted 0, duplicate 4, superseded 0, rejected 0/);
    } finally {
      watcher.child.kill();
    }

    // The tables: 2 of 3 HIGH subjects with a pneumonia by month 3; S3
    // counts once for any AE although it has two.
    const table = await runExample('safety_officer.js', ['--server', server.target,
      '--trial', 'JS1', '--level', 'pt', '--level', 'overall', '--timepoint', 'M3']);
    assert.equal(table.code, 0, table.stderr);
    const out = table.stdout;
    assert.deepEqual(tableRow(out, `${INFECTIONS} / Pneumonia`),
      ['0/3 (0%)', '0/3 (0%)', '2/3 (67%)', '2/9 (22%)']);
    assert.deepEqual(tableRow(out, 'Nervous system disorders / Headache'),
      ['1/3 (33%)', '0/3 (0%)', '0/3 (0%)', '1/9 (11%)']);
    assert.deepEqual(tableRow(out, 'any_ae'), ['1/3 (33%)', '0/3 (0%)', '2/3 (67%)', '3/9 (33%)']);
    assert.deepEqual(tableRow(out, 'any_sae'), ['0/3 (0%)', '0/3 (0%)', '2/3 (67%)', '2/9 (22%)']);
    assert.match(out, /^signals: 1$/m);
    assert.ok(out.includes(`  ${SIGNAL_ID}  NEW  2/3  `), out);

    // The same numbers through the example's functions.
    const rows = await officer.incidence(clients.safety, 'JS1', 'TERM_LEVEL_PT', 'M3');
    const pneumonia = rows.find((r) => r.term === `${INFECTIONS} / Pneumonia`).cells;
    assert.deepEqual({ ...pneumonia.HIGH }, { subjects: 2, denominator: 3 });
    assert.deepEqual({ ...pneumonia[officer.TOTAL] }, { subjects: 2, denominator: 9 });
    assert.deepEqual({ ...pneumonia.LOW }, { subjects: 0, denominator: 3 });
    const signals = await officer.listSignals(clients.signals, 'JS1');
    assert.deepEqual(signals.map((s) => s.signal_id), [SIGNAL_ID]);
    assert.equal(Number(signals[0].evidence.subjects), 2);
    assert.equal(Number(signals[0].evidence.denominator), 3);
  });

  it('site names rejected reports and refused batches', async () => {
    await setUpTrial(clients, 'JS3');
    const file = writeReports(work, 'bad.jsonl',
      [REPORTS[3], { ...REPORTS[0], report_id: 'B1', grade: 9 },
        { ...REPORTS[0], report_id: 'B6', grade: 9, onset_study_day: 0 }]);
    let run = await runExample('site.js', ['--server', server.target, '--trial', 'JS3', file]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^line 1: R4 v1 ACCEPTED$/m);
    assert.match(run.stdout, /^line 2: B1 v1 REJECTED grade: .+ \[INVALID_ARGUMENT\]$/m);
    // Every problem of a report, on its line.
    assert.match(run.stdout,
      /^line 3: B6 v1 REJECTED onset_study_day: .+; grade: .+ \[INVALID_ARGUMENT\]$/m);

    // A misspelt field or enum name stops the file before anything is sent
    // (JSON.parse and proto-loader would drop it without a word).
    for (const [bad, expected] of [
      [{ ...REPORTS[0], report_id: 'B2', serius: true }, /:2: serius: .*no such field/],
      [{ ...REPORTS[0], report_id: 'B3', relatedness: 'RELATEDNESS_POSSIBL' },
        /:2: relatedness: 'RELATEDNESS_POSSIBL' is not one of .*RELATEDNESS_POSSIBLE/],
      [{ ...REPORTS[0], report_id: 'B4', reportId: 'x' }, /:2: reportId: use the .proto field name report_id/],
      [{ ...REPORTS[0], report_id: 'B5', onset_study_day: 'four' }, /:2: onset_study_day: "four" is not a int32/],
    ]) {
      const badFile = writeReports(work, 'misspelt.jsonl', [REPORTS[3], bad]);
      run = await runExample('site.js', ['--server', server.target, '--trial', 'JS3', badFile]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, expected);
      assert.equal(run.stdout, '');
    }

    // A whole batch refused (unknown trial) is reported, not retried.
    run = await runExample('site.js', ['--server', server.target, '--trial', 'NO-SUCH-TRIAL', file]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^line 1: R4 v1 REFUSED NOT_FOUND: /m);
    assert.match(run.stdout, /refused 3, unacknowledged 0/);

    // No server: the site gives up after its attempts, nothing acknowledged.
    run = await runExample('site.js', ['--server', '127.0.0.1:1', '--trial', 'JS3',
      '--attempts', '2', '--connect-timeout', '0.5', file]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stdout, /^line 2: B1 v1 UNACKNOWLEDGED$/m);
    assert.match(run.stdout, /accepted 0, .*, unacknowledged 3$/m);
    assert.match(run.stderr, /server not reachable within 0.5 s/);
  });

  it('site refuses a file that is not UTF-8 text, naming the line', async () => {
    await setUpTrial(clients, 'JS5');
    const good = Buffer.from(`${JSON.stringify(REPORTS[3])}\n`);
    // Line 2 of each file is bad; nothing of the file is sent.
    const line2 = (text) => Buffer.concat([good, Buffer.from(text, 'latin1'), Buffer.from('\n')]);
    for (const [name, bytes, expected] of [
      // Latin-1 "Naïusea": 0xEF would have been read as U+FFFD and stored.
      ['latin1.jsonl', line2('{"report_id":"L1","version":1,"site_id":"01","subject_id":"S2",'
        + '"onset_study_day":5,"pt":"Na\xefusea","soc":"X","grade":1}'), /:2: not UTF-8$/m],
      // A surrogate encoded as UTF-8 bytes (CESU-8) is not UTF-8 either.
      ['cesu.jsonl', line2('{"report_id":"L2","pt":"\xed\xa0\x80"}'), /:2: not UTF-8$/m],
      // Valid JSON, but a lone surrogate is not text: gRPC would fail the
      // stream with INTERNAL and the site would retry without a reason.
      // (JSON.stringify writes a lone surrogate as the escape "\ud800".)
      ['surrogate.jsonl', line2(JSON.stringify({ ...REPORTS[0], report_id: 'L3', pt: 'bad \ud800 x' })),
        /:2: field pt: unpaired surrogate$/m],
      ['low.jsonl', line2(JSON.stringify({ ...REPORTS[0], report_id: 'L4', aesi: ['infection', '\udc00 x'] })),
        /:2: field aesi\[1\]: unpaired surrogate$/m],
    ]) {
      const file = path.join(work, name);
      fs.writeFileSync(file, bytes);
      const run = await runExample('site.js', ['--server', server.target, '--trial', 'JS5', file]);
      assert.equal(run.code, 2, `${name}: ${run.stderr}`);
      assert.match(run.stderr, expected);
      assert.equal(run.stdout, '');
    }
    const unsent = await call(clients.safety, 'GetReport',
      { name: 'trials/JS5/sites/01/reports/R4' }).then(
      () => assert.fail('a report of a refused file was stored'), (err) => err);
    assert.equal(unsent.code, grpc.status.NOT_FOUND);

    // UTF-8 text of any script, and a surrogate pair escaped in JSON, are
    // stored as they are.
    const pt = 'Nausée 恶心 \u{1F922}';
    const file = path.join(work, 'utf8.jsonl');
    fs.writeFileSync(file, `${JSON.stringify({ ...REPORTS[3], pt })}\n${
      JSON.stringify({ ...REPORTS[0], report_id: 'U2', pt: 'PT' }).replace('"PT"', '"\\ud83e\\udd22"')}\n`);
    const run = await runExample('site.js', ['--server', server.target, '--trial', 'JS5', file]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /accepted 2, duplicate 0/);
    for (const [id, expected] of [['R4', pt], ['U2', '\u{1F922}']]) {
      const report = await call(clients.safety, 'GetReport',
        { name: `trials/JS5/sites/01/reports/${id}` });
      assert.equal(report.current.report.pt, expected);
    }
  });

  it('INVALID_ARGUMENT carries a BadRequest and an ErrorInfo', async () => {
    const trial = makeTrial('JS-BAD');
    trial.title = '';
    trial.timepoints[1].study_day = 30; // before M3's day 91
    const error = await call(clients.trials, 'CreateTrial', { trial }).then(
      () => assert.fail('CreateTrial accepted a bad trial'), (err) => err);
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    // The raw trailer, then what it decodes to.
    assert.equal(error.metadata.get('grpc-status-details-bin').length, 1);
    const status = aesignal.statusOf(error);
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(aesignal.fieldViolations(error).map((v) => v.field),
      ['trial.title', 'trial.timepoints[1].study_day']);
    const info = aesignal.errorInfo(error);
    assert.equal(info.domain, 'aesignal.dev');
    assert.equal(info.reason, 'FIELD_VIOLATIONS');

    const badParent = await call(clients.ingest, 'SubmitReports',
      { parent: 'projects/JS1', reports: [{ report_id: 'X' }] }).then(
      () => assert.fail('SubmitReports accepted a bad parent'), (err) => err);
    assert.equal(badParent.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(aesignal.fieldViolations(badParent).map((v) => v.field), ['parent']);

    await setUpTrial(clients, 'JS4');
    const badSubject = await call(clients.trials, 'EnrollSubjects', {
      parent: 'trials/JS4',
      subjects: [{ subject_id: 'S10', site_id: '01', dose_group_id: 'NOPE', last_contact_day: 10 }],
    }).then(() => assert.fail('EnrollSubjects accepted a bad subject'), (err) => err);
    assert.deepEqual(aesignal.fieldViolations(badSubject).map((v) => v.field),
      ['subjects[0].dose_group_id']);
  });
});

// The server is killed right after the first ack and restarted on the same
// port: the site reconnects and sends only the other batches, and the
// acknowledged batch survived the crash.
describe('site after a server crash', () => {
  let work;
  let server;
  let clients;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'aesignal-node-restart-'));
    server = new Server(work);
    await server.start();
    clients = aesignal.connect(server.target);
  });

  after(async () => {
    if (clients) clients.close();
    if (server) await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('resends only unacknowledged batches', async () => {
    await setUpTrial(clients, 'JS2');
    // Six reports, one AE per subject S1..S6, in three batches of two.
    const reports = [1, 2, 3, 4, 5, 6].map((i) => ({
      ...REPORTS[3], report_id: `H${i}`, subject_id: `S${i}`,
    }));
    const acks = [];
    const logged = [];
    const summary = await site.streamReports(clients.ingest, 'JS2', reports, {
      batchSize: 2,
      window: 1,
      connectTimeoutMs: WAIT_MS,
      timeoutMs: WAIT_MS,
      log: (message) => logged.push(message),
      onAck: async (response) => {
        acks.push(Number(response.batch_id));
        if (acks.length === 1) {
          const { port } = server;
          await server.kill();
          await server.start(port);
        }
      },
    });

    assert.equal(summary.error, null);
    assert.deepEqual(summary.outcomes.map((o) => o.status), Array(6).fill('ACCEPTED'));
    assert.equal(summary.sent.length, 2, logged.join('\n'));
    assert.equal(summary.sent[0][0], 1);
    assert.deepEqual(summary.sent[1], [2, 3]); // batch 1 not sent again
    assert.deepEqual(acks, [1, 2, 3]);
    assert.ok(logged.some((l) => l.includes('stream broken: UNAVAILABLE')), logged.join('\n'));
    const rows = await officer.incidence(clients.safety, 'JS2', 'TERM_LEVEL_OVERALL', 'M3');
    const anyAe = rows.find((r) => r.term === 'any_ae').cells[officer.TOTAL];
    assert.deepEqual({ ...anyAe }, { subjects: 6, denominator: 9 });
  });
});

// A server as sites meet it in production: TLS, and principals with bearer
// tokens. The example programs connect with --tls-ca and --token-file;
// without the token they are refused, and a token without TLS is a usage
// error.
describe('TLS and a bearer token', () => {
  const TOKEN = 'node-test-admin-token';
  let work;
  let server;
  let cert;
  let tokenFile;
  let reportsFile;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'aesignal-node-tls-'));
    cert = path.join(work, 'server.pem');
    const key = path.join(work, 'server.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
      '-subj', '/CN=localhost', '-keyout', key, '-out', cert,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    const salt = 'nodetest';
    const digest = crypto.createHash('sha256').update(salt + TOKEN).digest('hex');
    const principals = path.join(work, 'principals.yaml');
    fs.writeFileSync(principals,
      `- name: ada\n  role: admin\n  token_sha256: "${salt}:${digest}"\n`);
    tokenFile = path.join(work, 'token');
    fs.writeFileSync(tokenFile, `${TOKEN}\n`);
    server = new Server(work);
    await server.start(0, [`--tls_cert=${cert}`, `--tls_key=${key}`,
      `--principals=${principals}`]);
    const clients = aesignal.connect(server.target,
      { tls: true, ca: fs.readFileSync(cert), token: TOKEN });
    try {
      await setUpTrial(clients, 'JST');
    } finally {
      clients.close();
    }
    reportsFile = writeReports(work, 'r.jsonl', [REPORTS[3]]);
  });

  after(async () => {
    if (server) await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('the site and the officer connect with --tls-ca and --token-file', async () => {
    const sent = await runExample('site.js', ['--server', server.target, '--trial', 'JST',
      '--tls-ca', cert, '--token-file', tokenFile, reportsFile]);
    assert.equal(sent.code, 0, sent.stdout + sent.stderr);
    assert.match(sent.stdout, /line 1: R4 v1 ACCEPTED/);
    const read = await runExample('safety_officer.js', ['--server', server.target,
      '--trial', 'JST', '--level', 'pt', '--tls-ca', cert, '--token-file', tokenFile]);
    assert.equal(read.code, 0, read.stdout + read.stderr);
    assert.match(read.stdout, /Headache/);
  });

  it('without the token the call is refused; a token needs TLS', async () => {
    const refused = await runExample('safety_officer.js', ['--server', server.target,
      '--trial', 'JST', '--tls-ca', cert]);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /UNAUTHENTICATED/);
    const clear = await runExample('site.js', ['--server', server.target, '--trial', 'JST',
      '--token-file', tokenFile, reportsFile]);
    assert.equal(clear.code, 2, clear.stdout + clear.stderr);
    assert.match(clear.stderr, /a bearer token is sent over TLS only/);
  });
});
