// A TCP port on 127.0.0.1 that was free a moment ago (the OS's choice), for a
// server a script or a test is about to start on loopback.
import net from 'node:net'

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}
