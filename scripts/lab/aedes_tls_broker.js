// aedes (npm) behind node's own TLS server (tls.createServer, OpenSSL underneath): a real
// broker whose TLS listener is configured to accept old protocol versions, as a legacy
// deployment would be. mosquitto 2.0 cannot be: it always sets SSL_OP_NO_TLSv1
// ("Unsupported tls_version" for anything below tlsv1.1).
// Binds only to the address given (inside the lab's broker namespace); anonymous clients are
// accepted. Exits by itself after SECONDS.
// Usage: node aedes_tls_broker.js NODE_MODULES_DIR HOST PORT CERT_CHAIN KEY MIN_VERSION MAX_VERSION CIPHERS SECONDS
//   e.g. ... TLSv1 TLSv1 'DEFAULT:@SECLEVEL=0' 60   (OpenSSL 3 allows TLS 1.0 only at security level 0)
'use strict';
const fs = require('fs');
const path = require('path');
const tls = require('tls');

const [modules, host, port, cert, key, minVersion, maxVersion, ciphers, seconds] = process.argv.slice(2);
const aedes = require(path.join(modules, 'aedes'))();

aedes.on('client', (c) => console.log(`client ${c.id}`));
aedes.on('clientDisconnect', (c) => console.log(`disconnect ${c.id}`));

const server = tls.createServer({
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  minVersion,
  maxVersion,
  ciphers,
}, aedes.handle);
server.on('secureConnection', (s) =>
  console.log(`tls ${s.getProtocol()} ${s.getCipher().standardName}`));
server.on('tlsClientError', (e) => console.log(`tls error ${e.message}`));
server.listen(Number(port), host, () => console.log(`listening ${host}:${port} tls ${minVersion}-${maxVersion}`));
setTimeout(() => {
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}, Number(seconds) * 1000);
