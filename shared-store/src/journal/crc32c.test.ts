// CRC32C against published vectors (RFC 3720 appendix B.4) and a bitwise reference.
import { expect } from 'chai';
import { crc32c } from './crc32c.js';

/** One bit at a time: slow and obviously right, to check the sliced tables against. */
function reference(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', function () {
  it('matches the check value: crc32c("123456789") = 0xE3069283', function () {
    expect(crc32c(Buffer.from('123456789'))).to.equal(0xe3069283);
  });

  it('matches the RFC 3720 vectors', function () {
    const inc = Buffer.alloc(32);
    const dec = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) {
      inc[i] = i;
      dec[i] = 31 - i;
    }
    expect(crc32c(Buffer.alloc(32, 0))).to.equal(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).to.equal(0x62a8ab43);
    expect(crc32c(inc)).to.equal(0x46dd794e);
    expect(crc32c(dec)).to.equal(0x113fdb5c);
  });

  it('is 0 for no bytes', function () {
    expect(crc32c(Buffer.alloc(0))).to.equal(0);
  });

  it('agrees with the bitwise reference for every length and alignment up to 70 bytes', function () {
    const data = Buffer.alloc(80);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= start + 70; end++) {
        expect(crc32c(data, start, end), `[${start}, ${end})`).to.equal(reference(data.subarray(start, end)));
      }
    }
  });

  it('agrees with the bitwise reference past the word-loop threshold, at every alignment of the memory', function () {
    const backing = Buffer.alloc(600);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 197 + 3) & 0xff;
    for (let shift = 0; shift < 5; shift++) {
      // A view starting at an odd byte of its ArrayBuffer, as a slice of a socket read would.
      const data = new Uint8Array(backing.buffer, backing.byteOffset + shift, 520);
      for (let start = 0; start < 9; start++) {
        for (const length of [63, 64, 65, 71, 72, 127, 128, 129, 500]) {
          const end = start + length;
          expect(crc32c(data, start, end), `shift ${shift} [${start}, ${end})`).to.equal(reference(data.subarray(start, end)));
        }
      }
    }
  });

  it('continues a running checksum over pieces', function () {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over.');
    const whole = crc32c(data);
    for (const cut of [1, 7, 8, 9, 30]) {
      expect(crc32c(data, cut, data.length, crc32c(data, 0, cut))).to.equal(whole);
    }
  });
});
