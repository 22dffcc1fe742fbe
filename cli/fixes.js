'use strict'
// Doctor's fixes: for a failing check's (or error's) code, the concrete next step.
// The addon's messages already say what to do; these add the exact command for
// this machine and this store where the CLI knows it.

/**
 * @param {{code?: string, name?: string, detail?: string}} problem
 * @param {{status?, redactedUrl?, plan?, external?: boolean}} ctx
 */
function fixFor(problem, ctx = {}) {
  const { status, plan } = ctx
  const url = ctx.redactedUrl || status?.redactedUrl || '<url>'
  const managed = !ctx.external && (!status || status.mode === 'managed')
  const pid = status?.pid
  const installCmd = plan?.shellCommand || (plan?.method === 'download' ? 'claude-mem-store install --method download' : null)
  const detail = problem.detail || ''
  switch (problem.code) {
    case 'E_EVICTION_POLICY':
      return managed
        ? 'the managed store\'s config sets noeviction at every start: restart it (`claude-mem-store down && claude-mem-store up`)'
        : `run \`redis-cli -u ${url} CONFIG SET maxmemory-policy noeviction\`, and put \`maxmemory-policy noeviction\` in the server's config file so it survives a restart (BullMQ loses jobs under eviction)`
    case 'E_PORT_IN_USE':
      return `${heldBy(detail) ? `the port is held by ${heldBy(detail)}: ` : ''}stop that program, or choose another port (--port N / CLAUDE_MEM_REDIS_PORT), or remove the setting so the store picks a free one`
    case 'E_NO_SERVER_BINARY':
      return installCmd
        ? `install a server: \`${installCmd}\` (or \`claude-mem-store install${plan?.needsSudo ? ' --allow-sudo' : ''}\`), or pass --binary PATH`
        : `install valkey-server or redis-server, or pass --binary PATH${plan?.reason ? ` (${plan.reason})` : ''}`
    case 'E_BINARY_INCOMPATIBLE':
    case 'E_START_FAILED': {
      const loader = firstMatch(detail, /(error while loading shared libraries[^\n]*|version `[^`']+' not found[^\n]*|cannot open shared object file[^\n]*)/)
      return `${loader ? `the loader says: ${loader}. ` : ''}${status?.paths?.logFile ? `See ${status.paths.logFile}. ` : ''}Use the system's package instead${installCmd ? `: \`${installCmd}\`` : ''}, then \`claude-mem-store up\``
    }
    case 'E_AUTH':
      return `put the server's password in the URL: redis://:PASSWORD@host:port (or redis://USER:PASSWORD@host:port with an ACL user); ${url} was refused`
    case 'E_TIMEOUT':
      return pid
        ? `the server (pid ${pid}) does not answer: if it was stopped (ps -o stat= -p ${pid} shows T), resume it with \`kill -CONT ${pid}\`; else \`claude-mem-store down\`, then \`claude-mem-store up\`. A large AOF may need a longer --timeout`
        : 'the server does not answer in time: check it is not stopped or overloaded, or pass a longer --timeout'
    case 'E_NOT_OWNED':
      return managed
        ? `the pid file names a process that is not claude-mem's server (it is never signalled): \`claude-mem-store down\` sets the stale pid file aside${status?.paths?.pidFile ? ` (${status.paths.pidFile})` : ''}, then \`claude-mem-store up\` starts the store`
        : 'this server is not claude-mem\'s to stop; stop it where it is managed'
    case 'E_UNREACHABLE':
      return `nothing answers at ${url}: start that server, or fix the host/port in the URL (CLAUDE_MEM_REDIS_URL), or drop the URL to let claude-mem manage its own store`
    case 'E_VERSION_TOO_OLD':
      return `BullMQ needs Redis ≥ 5 (6.2 recommended): upgrade the server${installCmd ? `, or install Valkey (\`${installCmd}\`) and use the managed store` : ''}`
    case 'E_LUA_UNAVAILABLE':
      return 'BullMQ runs Lua scripts (with cjson and cmsgpack): use a server with scripting enabled (Valkey or Redis), or let claude-mem manage one (`claude-mem-store up`)'
    case 'E_CLUSTER_PREFIX':
      return 'on a Redis Cluster the queue prefix must be hash-tagged: set CLAUDE_MEM_QUEUE_REDIS_PREFIX={claude-mem} (or --prefix \'{claude-mem}\')'
    case 'E_TLS':
      return 'trust the server\'s CA with --ca-file FILE (CLAUDE_MEM_REDIS_CA_FILE), and check the URL\'s host name matches its certificate'
    case 'E_SMOKE_FAILED':
      return 'the server refused a command BullMQ needs (an ACL or a renamed command?): allow it for this user, or use the managed store'
    case 'E_DOCKER_UNAVAILABLE':
      return 'start Docker (Docker Desktop, or `sudo systemctl start docker`), or use another mode: --mode managed (a local valkey-server) or --mode external --url URL'
    case 'E_LOCK_TIMEOUT':
      return 'another claude-mem process holds the store lock: wait for it, or find it (`fuser ' + (status?.paths?.dataDir ? `${status.paths.dataDir}/redis/store.lock` : '<data-dir>/redis/store.lock') + '`)'
    case 'E_BAD_SETTINGS':
    case 'E_BAD_OPTION':
    case 'E_BAD_URL':
      return 'fix the setting the message names (an option, its environment variable, or <data-dir>/settings.json)'
    default:
      return null
  }
}

function heldBy(text) {
  return firstMatch(text, /held by (pid \d+ \([^\n]*?\)(?=\.|;|$)|pid \d+|another program \([^)]*\))/)
}

function firstMatch(text, re) {
  const m = re.exec(text || '')
  return m ? m[1] : null
}

module.exports = { fixFor }
