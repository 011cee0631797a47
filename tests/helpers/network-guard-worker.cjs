'use strict';
// Loaded with --require into worker threads started while a network guard is on (see
// network-guard.ts): any fetch or socket connection is reported to the test thread and refused.
const net = require('node:net');
const channel = new BroadcastChannel('thukho-network-guard');
channel.unref();
const refuse = (what) => {
  channel.postMessage(what);
  return new Error(`network access attempted in a worker thread: ${what}`);
};
globalThis.fetch = async (input) => {
  throw refuse(`fetch ${String(input instanceof Request ? input.url : input)}`);
};
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  // net.connect() hands the socket its arguments already normalised as [[options, callback]].
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const local = typeof first === 'object' && first !== null && 'path' in first;
  if (!local) throw refuse(`connect ${typeof first === 'object' ? JSON.stringify(first) : String(first)}`);
  return connect.apply(this, args);
};
