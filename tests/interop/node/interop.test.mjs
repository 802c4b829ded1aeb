// Interop test: the cargo-analysis gRPC API from Node.js, with @grpc/grpc-js and
// @grpc/proto-loader as a VS Code extension would use them.
//
// It loads our .proto files from proto/, starts the real daemon on temp dirs watching a private
// $CARGO_HOME/log, opens a Live.Watch stream, runs two real cargo builds of a copy of
// tests/fixtures/workspaces/demo (the second after an edit, so something is rebuilt), checks
// what the stream showed, then calls every RPC of the Reports service (the list comes from the
// loaded service definition, so an RPC added later without a check here fails this test) and
// checks the answers.
//
// Environment: CA_DAEMON_BIN, CA_CLIENT_BIN, CA_PROTO_DIR, CA_FIXTURES_DIR (set by CTest).
// Exit code 125 (skipped) when cargo is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`interop: error: ${name} is not set (run through ctest, or set it by hand)`);
    process.exit(2);
  }
  return v;
}

const DAEMON = required('CA_DAEMON_BIN');
const CLIENT = required('CA_CLIENT_BIN');
const PROTO_DIR = required('CA_PROTO_DIR');
const FIXTURES = required('CA_FIXTURES_DIR');

if (spawnSync('cargo', ['--version']).status !== 0) {
  console.log('interop: cargo is not installed: skipped');
  process.exit(125);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- the API, as a plugin loads it ---------------------------------------------------------
const definition = protoLoader.loadSync('cargo_analysis/v1/service.proto', {
  includeDirs: [PROTO_DIR],
  keepCase: true, // snake_case field names, as in our JSON output
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true, // `update.change` names the oneof case that is set
});
const v1 = grpc.loadPackageDefinition(definition).cargo_analysis.v1;

function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 60_000 }, (err, response) =>
      err ? reject(new Error(`${method}: ${err.code} ${err.details}`)) : resolve(response));
  });
}

// --- a private world: temp dirs, the daemon, real cargo ------------------------------------
const top = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-interop-'));
const runtime = path.join(top, 'run');
const state = path.join(top, 'state');
const cargoHome = path.join(top, 'cargo-home');
const logDir = path.join(cargoHome, 'log');
const ws = path.join(top, 'ws');
fs.mkdirSync(logDir, { recursive: true });
fs.cpSync(path.join(FIXTURES, 'workspaces', 'demo'), ws, { recursive: true });
fs.rmSync(path.join(ws, 'target'), { recursive: true, force: true });
const wsRoot = fs.realpathSync(ws);
const daemonLog = path.join(top, 'daemon.log');

// The daemon dies with this process however it ends (a failed assertion, a signal, the test
// runner killing it): through setpriv's parent-death signal (util-linux, always on Debian), and
// the exit and signal handlers in the test.
function startDaemon() {
  const out = fs.openSync(daemonLog, 'a');
  const args = ['--foreground', '--runtime-dir', runtime, '--state-dir', state,
                '--watch-dir', logDir, '--log-level', 'debug'];
  const setpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
  return setpriv
    ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', DAEMON, ...args], { stdio: ['ignore', out, out] })
    : spawn(DAEMON, args, { stdio: ['ignore', out, out] });
}

function cargo(args) {
  const env = { ...process.env,
                CARGO_HOME: cargoHome,
                __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS: 'nightly',
                CARGO_UNSTABLE_BUILD_ANALYSIS: 'true',
                CARGO_BUILD_ANALYSIS_ENABLED: 'true',
                CARGO_NET_OFFLINE: 'true',
                CARGO_TERM_COLOR: 'never' };
  for (const name of ['CARGO_TARGET_DIR', 'CARGO_ANALYSIS_SESSION_ID', 'TRACEPARENT']) {
    delete env[name];
  }
  return new Promise((resolve) => {
    const child = spawn('cargo', args, { cwd: ws, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code, err }));
  });
}

// Every update of a Watch stream, in order.
class Watch {
  constructor(client, request) {
    this.updates = [];
    this.ended = false;
    this.waiters = [];
    this.call = client.Watch(request);
    this.call.on('data', (response) => {
      for (const u of response.updates) {
        this.updates.push(u);
      }
      this.wake();
    });
    this.call.on('error', (e) => { this.error = e; this.ended = true; this.wake(); });
    this.call.on('end', () => { this.ended = true; this.wake(); });
  }
  wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  // Resolves true once pred(updates) holds, false on timeout or end of stream.
  async until(pred, ms) {
    const deadline = Date.now() + ms;
    while (!pred(this.updates)) {
      if (this.ended || Date.now() > deadline) return false;
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.max(1, Math.min(250, deadline - Date.now())));
      });
    }
    return true;
  }
  of(run, change) {
    return this.updates.filter((u) => u.run_id === run && u.change === change);
  }
}

// The run the stream saw start in our workspace, not among `known`.
function newRun(updates, known) {
  const s = updates.find((u) => u.change === 'run_started' &&
                                u.run_started.run.workspace_root === wsRoot &&
                                !known.includes(u.run_id));
  return s ? s.run_id : undefined;
}

test('cargo-analysis gRPC API from Node.js during real cargo builds', { timeout: 600_000 },
     async (t) => {
  const daemon = startDaemon();
  const stopDaemon = () => {
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  };
  process.on('exit', stopDaemon);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      stopDaemon();
      process.exit(1);
    });
  }
  const address = `unix:${runtime}/grpc.sock`;
  const admin = new v1.Admin(address, grpc.credentials.createInsecure());
  const reports = new v1.Reports(address, grpc.credentials.createInsecure());
  const live = new v1.Live(address, grpc.credentials.createInsecure());
  let ok = false;
  try {
    // Ready when Admin.Status answers.
    let status;
    for (const deadline = Date.now() + 20_000; !status && Date.now() < deadline;) {
      status = await unary(admin, 'Status', {}).catch(() => undefined);
      if (!status) await sleep(50);
    }
    assert.ok(status, 'the daemon did not answer Admin.Status within 20 s');
    assert.deepEqual(status.watched_dirs, [logDir]);

    const watch = new Watch(live, { workspace: wsRoot });
    assert.ok(await watch.until((u) => u.length > 0, 10_000), 'no snapshot');
    assert.equal(watch.updates[0].change, 'snapshot');

    // Build 1: clean. Build 2: after an edit of demo-core, so units are rebuilt.
    const runs = [];
    let via = 'log watcher';
    for (const step of [1, 2]) {
      if (step === 2) {
        fs.appendFileSync(path.join(ws, 'demo-core', 'src', 'lib.rs'), '\n// edited\n');
      }
      const built = await cargo(['build']);
      assert.equal(built.code, 0, `cargo build failed:\n${built.err}`);
      let run;
      const seen = await watch.until((u) => {
        run = newRun(u, runs);
        return run && u.some((x) => x.run_id === run && x.change === 'run_ended');
      }, 30_000);
      if (!seen) {
        // The log watcher did not deliver the build: send cargo's log with the client instead,
        // and watch for those events.
        via = 'cargo-analysis-client ingest (the log watcher did not deliver)';
        const sent = spawnSync(CLIENT, ['--runtime-dir', runtime, '--no-spawn', 'ingest', logDir],
                               { encoding: 'utf8' });
        assert.equal(sent.status, 0, sent.stderr);
        assert.ok(await watch.until((u) => {
          run = newRun(u, runs);
          return run && u.some((x) => x.run_id === run && x.change === 'run_ended');
        }, 30_000), `build ${step} never showed up on the Watch stream`);
      }
      runs.push(run);
    }
    console.log(`interop: builds ${runs.join(', ')} reached the daemon through the ${via}`);

    await t.test('Live.Watch showed each build start, compile its units and end', () => {
      for (const run of runs) {
        const started = watch.of(run, 'run_started')[0].run_started.run;
        assert.equal(started.workspace_root, wsRoot);
        assert.match(started.command_line, /^cargo build/);
        const unitsStarted = watch.of(run, 'unit_started');
        const unitsFinished = watch.of(run, 'unit_finished');
        assert.ok(unitsStarted.length > 0, 'no unit started');
        assert.equal(unitsFinished.length, unitsStarted.length);
        for (const u of unitsFinished) {
          assert.ok(u.unit_finished.unit.description.length > 0);
          assert.ok(u.unit_finished.duration >= 0);
        }
        const ended = watch.of(run, 'run_ended');
        assert.equal(ended.length, 1);
        assert.equal(ended[0].run_ended.state, 'completed');
        const p = ended[0].progress;
        assert.ok(p.units_total > 0);
        assert.equal(p.units_fresh + p.units_finished, p.units_total);
        assert.equal(p.units_running, 0);
      }
      assert.equal(watch.updates.filter((u) => u.change === 'dropped').length, 0);
      // Build 1 compiled everything; build 2 reused some units.
      const [p1, p2] = runs.map((r) => watch.of(r, 'run_ended')[0].progress);
      assert.equal(p1.units_fresh, 0);
      assert.ok(p2.units_fresh > 0);
      assert.ok(p2.units_finished > 0);
    });

    // Every Reports RPC: a request, and what its answer must say.
    const [run1, run2] = runs;
    const calls = {
      ListSessions: [{ workspace: wsRoot, limit: 10 }, (r) => {
        assert.equal(r.workspace_root, wsRoot);
        const ids = r.sessions.flatMap((s) => s.runs.map((x) => x.run_id));
        assert.ok(ids.includes(run1) && ids.includes(run2), JSON.stringify(ids));
      }],
      GetSession: [{ id: run1 }, (r) => {
        assert.equal(r.session_id.length > 0, true);
        const run = r.runs.find((x) => x.run_id === run1);
        assert.ok(run);
        assert.equal(run.state, 'completed');
        assert.equal(run.workspace_root, wsRoot);
        assert.equal(run.command_line, 'cargo build');
        assert.ok(run.units_total > 0);
      }],
      GetRebuilds: [{ id: run2 }, (r) => {
        assert.equal(r.runs.length, 1);
        assert.equal(r.runs[0].run.run_id, run2);
        assert.ok(r.runs[0].root_rebuilds.length > 0, 'nothing rebuilt after the edit');
        assert.ok(r.runs[0].root_rebuilds.some((x) => x.reason_text.includes('lib.rs')),
                  JSON.stringify(r.runs[0].root_rebuilds.map((x) => x.reason_text)));
      }],
      GetTimings: [{ id: run1 }, (r) => {
        assert.equal(r.runs.length, 1);
        const t1 = r.runs[0];
        assert.equal(t1.run.run_id, run1);
        assert.equal(t1.units.length, t1.run.units_total);
        assert.ok(t1.total_time > 0);
        assert.ok(t1.units.every((u) => u.finished));
      }],
      GetCriticalPath: [{ id: run1 }, (r) => {
        assert.equal(r.runs.length, 1);
        assert.ok(r.runs[0].steps.length > 0);
        assert.ok(r.runs[0].path_time > 0);
      }],
      Diff: [{ a: run1, b: run2 }, (r) => {
        assert.equal(r.a.runs[0].run_id, run1);
        assert.equal(r.b.runs[0].run_id, run2);
        assert.ok(r.units.length > 0);
      }],
      Trends: [{ workspace: wsRoot }, (r) => {
        assert.equal(r.workspace_root, wsRoot);
        assert.equal(r.runs, 2);
        assert.ok(r.commands.some((c) => c.kind === 'build'));
      }],
      SlowestCrates: [{ limit: 3 }, (r) => {
        // Every run of this daemon: the two builds; the first compiled every crate.
        assert.equal(r.runs, 2);
        assert.ok(r.compiles > 0 && r.total_secs > 0);
        assert.ok(r.slowest.length > 0 && r.slowest.length <= 3);
        assert.ok(r.crates >= r.slowest.length);
        assert.ok(!r.team);
        const total = r.slowest.reduce((sum, c) => sum + c.total_secs, 0);
        assert.ok(total <= r.total_secs + 1e-9);
        for (const c of r.slowest) {
          assert.ok(c.name.length > 0 && c.package_id.includes(c.name), JSON.stringify(c));
          assert.ok(c.runs >= 1 && c.compiles >= c.runs);
          assert.ok(Math.abs(c.share - c.total_secs / r.total_secs) < 1e-9);
        }
      }],
      Thrash: [{ workspace: wsRoot }, (r) => {
        // A clean build and an edit: nothing goes back and forth.
        assert.equal(r.workspace_root, wsRoot);
        assert.equal(r.runs, 2);
        assert.equal(r.groups.length, 0, JSON.stringify(r.groups));
      }],
    };
    for (const method of Object.keys(v1.Reports.service)) {
      await t.test(`Reports.${method}`, async () => {
        assert.ok(method in calls,
                  `no check for Reports.${method}: add one to tests/interop/node/interop.test.mjs`);
        const [request, check] = calls[method];
        check(await unary(reports, method, request));
      });
    }

    await t.test('Admin.Status counts what was stored', async () => {
      const s = await unary(admin, 'Status', {});
      assert.ok(Number(s.events_stored) > 0);
      assert.equal(Number(s.runs_stored), 2);
      assert.equal(Number(s.runs_in_progress), 0);
    });

    await t.test('Admin.Shutdown ends the Watch stream and the daemon', async () => {
      await unary(admin, 'Shutdown', {});
      assert.ok(await watch.until(() => false, 10_000) === false && watch.ended,
                'the Watch stream did not end');
      const code = daemon.exitCode ?? await new Promise((resolve) => daemon.on('exit', resolve));
      assert.equal(code, 0);
    });
    ok = true;
  } finally {
    for (const c of [admin, reports, live]) c.close();
    if (daemon.exitCode === null) {
      daemon.kill('SIGTERM');
    }
    if (ok) {
      fs.rmSync(top, { recursive: true, force: true });
    } else {
      console.error(`interop: kept ${top}; daemon log:\n${fs.readFileSync(daemonLog, 'utf8')}`);
    }
  }
});
