// Writes the seed corpus of test/fuzz/frame_fuzz.c into test/fuzz/corpus/: one valid frame of
// each kind (docs/protocol.md section 2), a few edge cases, and one ZAP request in the harness's
// own layout. Run it again after a protocol change, once dist/ is built (npx tsc -p tsconfig.json):
// node test/fuzz/make-corpus.js
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { COOKIE_LEN, EXT_SHARED, EXT_SIDE, FrameKind, PROTOCOL_VERSION, SHARED_REF_SIZE } from '../../dist/protocol.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');
const packr = new Packr({ useRecords: false }); // plain maps, as the owner sends them
const cookie = 'ab'.repeat(COOKIE_LEN / 2);
const node = 'cnode_1_1@host';
const { Hello, Welcome, Call, Cast, Reply, Fail, Info, Stop, Ping, Pong, Release } = FrameKind;
const VERSION = PROTOCOL_VERSION;

const frames = {
  hello: [Hello, VERSION, cookie],
  'hello-other-version': [Hello, VERSION - 1, cookie],
  welcome: [Welcome, VERSION, node],
  'call-int': [Call, 1, 42],
  'call-map': [Call, 7, { op: 'echo', value: [1, 'two', 3.5, null, true, false, -7, Buffer.from([0, 1, 2])] }],
  'call-nested': [Call, 0xffffffff, [[[[{ a: [1] }]]]]],
  cast: [Cast, { op: 'set', value: { ms: 10 } }],
  reply: [Reply, 1, node, 'ok'],
  fail: [Fail, 1, node, 'the reason'],
  info: [Info, node, { event: 1 }],
  stop: [Stop],
  ping: [Ping, 123456],
  pong: [Pong, 123456],
};
const bytes = Object.fromEntries(Object.entries(frames).map(([name, frame]) => [name, packr.pack(frame)]));
// What msgpackr never writes: an array16 header, and a CALL whose message is not MessagePack
// (0xc1), which the worker still answers with FAIL. A frame kind is its own byte (a positive fixint).
bytes['call-array16'] = Buffer.from([0xdc, 0x00, 0x03, Call, 0xcd, 0x01, 0x00, 0xc0]);
bytes['call-undecodable'] = Buffer.from([0x93, Call, 0x05, 0xc1]);
// A CALL whose message refers to side parts 1 and 2 (ext type EXT_SIDE, fixext 4), which
// frame_fuzz.c supplies, and one to part 3, which it does not.
bytes['call-sides'] = Buffer.from([0x93, Call, 0x01, 0x92, 0xd6, EXT_SIDE, 0, 0, 0, 1, 0xd6, EXT_SIDE, 0, 0, 0, 2]);
bytes['call-side-missing'] = Buffer.from([0x93, Call, 0x01, 0xd6, EXT_SIDE, 0, 0, 0, 3]);
// A CALL naming a shared buffer: fd 3, inode 7, bytes 8 to 40 (within frame_fuzz.c's 64).
const sharedRef = Buffer.alloc(SHARED_REF_SIZE);
sharedRef.writeUInt32BE(3, 0);
sharedRef.writeBigUInt64BE(7n, 4);
sharedRef.writeBigUInt64BE(8n, 12);
sharedRef.writeBigUInt64BE(32n, 20);
bytes['call-shared'] = Buffer.concat([Buffer.from([0x93, Call, 0x01, 0xc7, SHARED_REF_SIZE, EXT_SHARED]), sharedRef]);
bytes.release = packr.pack([Release, 7]);
// A message of frames back to back (version 2 batches), the last one cut short.
bytes.batch = Buffer.concat([bytes['call-int'], bytes.cast, bytes['call-map'], bytes.ping, bytes.stop]);
bytes['batch-cut'] = Buffer.concat([bytes['call-int'], bytes.cast, bytes['call-map'].subarray(0, 9)]);
// A ZAP request as frame_fuzz.c reads one: 7 parts, each a length byte then its bytes.
const zapParts = ['1.0', '1', '', '127.0.0.1', '', 'CURVE', "the owner's 32-byte public key!\0"];
bytes['zap-curve'] = Buffer.concat([
  Buffer.from([7]),
  ...zapParts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])),
]);

fs.mkdirSync(dir, { recursive: true });
for (const [name, data] of Object.entries(bytes)) fs.writeFileSync(path.join(dir, name), data);
