// A long-lived host process (claude-mem's worker) that starts, stops and, through
// the watcher, restarts the store many times must not accumulate <defunct>
// servers or file descriptors: every server it spawned is its child until it
// exits, and only its parent can collect it. Counted from /proc, in a child
// process so that nothing else of this suite's is counted with it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { FLAVORS, SERVERS, ROOT, readPid, isAlive, killAndWait, recordOutcome, tmpDataDir } from './helpers.mjs'

for (const { id, flavor, bin } of SERVERS) {
  test(`50 start/stop cycles and 20 watcher restarts leave no zombie and no fd behind (${id})`, { skip: !bin && `${flavor}-server is not installed` }, async (t) => {
    const dataDir = tmpDataDir(t)
    t.after(async () => {
      const pid = readPid(dataDir)
      if (pid && isAlive(pid)) await killAndWait(pid)
    })
    const out = execFileSync(process.execPath, [path.join(ROOT, '__test__', 'fixtures', 'lifecycle-child.mjs'), dataDir, bin, '50', '20'], { encoding: 'utf8', timeout: 240000 })
    const r = JSON.parse(out)
    assert.equal(r.distinctServers, 71, 'every cycle, the watched store and each restart ran a new server')
    assert.deepEqual(r.childrenAfterCycles, [], 'no child (zombie or not) after 50 start/stop cycles')
    assert.deepEqual(r.childrenAtEnd, [], 'no child after 20 SIGKILLed servers were restarted by the watcher')
    assert.equal(r.fdsAfterCycles, r.fdsAfterFirstCycle, 'no fd leaked by 49 more cycles')
    assert.ok(r.fdsAtEnd <= r.fdsAfterFirstCycle, `no fd leaked by the watcher: ${r.fdsAtEnd} > ${r.fdsAfterFirstCycle}`)
    recordOutcome('Faults', `one host process: 50 start/stop cycles, 20 SIGKILL + watcher restarts (${id})`,
      `71 servers in all; ${r.childrenAtEnd.length} children left (zombie or not); fds ${r.fdsAfterFirstCycle} after the first cycle, ${r.fdsAfterCycles} after 50, ${r.fdsAtEnd} at the end`)
  })
}
