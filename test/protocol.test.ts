import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { FrameKind, peekReplyId } from '../src/protocol.js';

describe('peekReplyId', () => {
  const packr = new Packr({ useRecords: false });
  it('reads the call id of a reply or failure whatever its width', () => {
    for (const id of [0, 5, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1]) {
      expect(peekReplyId(packr.pack([FrameKind.Reply, id, 'n@h', 'x']))).toBe(id);
      expect(peekReplyId(packr.pack([FrameKind.Fail, id, 'n@h', 'why']))).toBe(id);
    }
  });

  it('reads nothing from other frames', () => {
    expect(peekReplyId(packr.pack([FrameKind.Info, 'n@h', 1]))).toBeUndefined();
    expect(peekReplyId(packr.pack([FrameKind.Reply, 'id', 'n@h', 1]))).toBeUndefined();
    expect(peekReplyId(Buffer.from([0x94, 5]))).toBeUndefined();
  });
});
