// The Host / Origin rules and the bind policy on their own (the listeners that
// use them are tested from outside in test/host/cli/secure_listeners.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bindProblem, hostName, isLoopback, RequestGuard } from '../../../host/server/request_guard.js';

test('isLoopback: 127/8, every spelling of ::1, IPv4-mapped loopback, localhost and *.localhost', () => {
  for (const h of ['127.0.0.1', '127.9.8.7', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'app.localhost']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.0.2.2', '::ffff:10.0.0.1', 'localhost.evil.example', 'evil.example', '128.0.0.1']) assert.not.ok(isLoopback(h), h);
});

test('hostName strips the port, brackets and case', () => {
  assert.is(hostName('Example.COM:8080'), 'example.com');
  assert.is(hostName('[::1]:9464'), '::1');
  assert.is(hostName('10.0.0.5'), '10.0.0.5');
});

test('Host: IP literals, loopback names and the bind host pass; other names only when allowed', () => {
  const g = new RequestGuard({ bindHost: 'box.lan', where: 'server' });
  for (const h of [undefined, '127.0.0.1:9464', '10.0.0.5:9464', '[fd00::2]:9464', 'localhost:9464', 'box.lan:9464', 'BOX.LAN']) assert.is(g.checkHost(h), undefined, String(h));
  assert.match(g.checkHost('evil.example:9464') ?? '', /^Host "evil\.example:9464" is not allowed \(DNS rebinding protection\); add "evil\.example" to server\.allowed_hosts/);
  const allowed = new RequestGuard({ bindHost: '0.0.0.0', allowedHosts: ['Ganglion.Internal'], where: 'sources[0]' });
  assert.is(allowed.checkHost('ganglion.internal:8080'), undefined);
  assert.match(allowed.checkHost('other.internal') ?? '', /sources\[0\]\.allowed_hosts/);
  assert.is(new RequestGuard({ bindHost: '0.0.0.0', allowedHosts: ['*'], where: 'server' }).checkHost('anything.example'), undefined);
});

test('Origin: absent, loopback, the bind host and the same origin pass; foreign, null and non-http origins do not', () => {
  const g = new RequestGuard({ bindHost: '0.0.0.0', where: 'server' });
  assert.is(g.checkOrigin(undefined, 'evil.example'), undefined);
  assert.is(g.checkOrigin('http://127.0.0.1:3000', '127.0.0.1:9464'), undefined);
  assert.is(g.checkOrigin('http://localhost:5173', '127.0.0.1:9464'), undefined);
  assert.is(g.checkOrigin('http://[::1]:3000', '127.0.0.1:9464'), undefined);
  assert.is(g.checkOrigin('http://10.0.0.5:9464', '10.0.0.5:9464'), undefined, 'the dashboard opened by LAN address');
  assert.match(g.checkOrigin('http://10.0.0.6:9464', '10.0.0.5:9464') ?? '', /Origin "http:\/\/10\.0\.0\.6:9464" is not allowed/);
  assert.match(g.checkOrigin('http://evil.example', '127.0.0.1:9464') ?? '', /add it to server\.allowed_origins/);
  assert.match(g.checkOrigin('null', '127.0.0.1:9464') ?? '', /Origin "null" is not allowed/);
  assert.match(g.checkOrigin('chrome-extension://abc', '127.0.0.1:9464') ?? '', /not allowed/);
  const listed = new RequestGuard({ bindHost: '127.0.0.1', allowedOrigins: ['https://grafana.example/'], where: 'server' });
  assert.is(listed.checkOrigin('https://Grafana.example', '127.0.0.1:9464'), undefined);
  assert.match(listed.checkOrigin('https://grafana.example:8443', '127.0.0.1:9464') ?? '', /not allowed/);
  const bound = new RequestGuard({ bindHost: '192.0.2.2', where: 'server' });
  assert.is(bound.checkOrigin('http://192.0.2.2:8000', '192.0.2.2:9464'), undefined);
});

test('bindProblem: loopback needs no token; a network bind needs a real one of 16+ characters; example tokens never pass', () => {
  assert.is(bindProblem('127.0.0.1', undefined), undefined);
  assert.is(bindProblem('localhost', 'short'), undefined);
  assert.equal(bindProblem('0.0.0.0', undefined)?.field, 'host');
  assert.equal(bindProblem('::', undefined)?.field, 'host');
  assert.equal(bindProblem('192.0.2.2', 'abcdefghijklmno')?.field, 'token');
  assert.is(bindProblem('192.0.2.2', 'abcdefghijklmnop'), undefined);
  assert.match(bindProblem('127.0.0.1', 'change-me')?.message ?? '', /not the example token "change-me"/);
  assert.match(bindProblem('0.0.0.0', 'CHANGEME')?.message ?? '', /example token/);
});

test.run();
