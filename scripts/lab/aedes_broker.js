// A second real broker for the capture lab: aedes (npm) on plain TCP.
// Binds only to the address given (inside the lab's broker namespace). Clients may log in
// anonymously, except that a CONNECT with username lab-user must carry password correct-horse;
// any other password gets aedes' bad-credentials refusal. Exits by itself after SECONDS.
// Usage: node aedes_broker.js NODE_MODULES_DIR HOST PORT SECONDS
'use strict';
const path = require('path');
const net = require('net');

const [modules, host, port, seconds] = process.argv.slice(2);
const aedes = require(path.join(modules, 'aedes'))();

aedes.authenticate = (client, username, password, callback) => {
  if (username === undefined || username === null) return callback(null, true);
  if (username === 'lab-user' && password && password.toString() === 'correct-horse') {
    return callback(null, true);
  }
  const error = new Error('Bad username or password');
  error.returnCode = 4;
  return callback(error, null);
};

aedes.on('client', (c) => console.log(`client ${c.id}`));
aedes.on('clientDisconnect', (c) => console.log(`disconnect ${c.id}`));
aedes.on('keepaliveTimeout', (c) => console.log(`keepalive timeout ${c.id}`));
aedes.on('subscribe', (subs, c) => console.log(`subscribe ${c && c.id}`));

const server = net.createServer(aedes.handle);
server.listen(Number(port), host, () => console.log(`listening ${host}:${port}`));
setTimeout(() => {
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}, Number(seconds) * 1000).unref();
setInterval(() => {}, 1000).unref();
server.on('close', () => {});
// Keep the process alive until the timer above fires.
setTimeout(() => {}, Number(seconds) * 1000 + 2000);
