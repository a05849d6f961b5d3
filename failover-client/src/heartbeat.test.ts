// STOMP 1.2 "Heart-beating" from the client's side: negotiation, beats when quiet, and a silent
// server noticed after its interval plus grace. Time is moved by hand.
import { expect } from 'chai';
import { HeartbeatMonitor, negotiateHeartbeat, parseHeartbeat } from './heartbeat.js';
import { FakeTimers } from './testing/fake-timers.js';

function monitor(sendEvery: number, expectEvery: number) {
  const timers = new FakeTimers();
  const log = { beats: 0, silent: [] as number[] };
  const m = new HeartbeatMonitor({ sendEvery, expectEvery }, { beat: () => log.beats++, silent: (ms) => log.silent.push(ms) }, timers);
  m.start();
  return { timers, log, m };
}

describe('heart-beats', function () {
  describe('negotiation (STOMP 1.2 "Heart-beating")', function () {
    it('sends every max(cx, sy) and expects every max(sx, cy)', function () {
      expect(negotiateHeartbeat({ send: 1000, receive: 2000 }, { send: 3000, receive: 500 })).to.deep.equal({ sendEvery: 1000, expectEvery: 3000 });
      expect(negotiateHeartbeat({ send: 1000, receive: 5000 }, { send: 3000, receive: 4000 })).to.deep.equal({ sendEvery: 4000, expectEvery: 5000 });
    });

    it('turns a direction off when either side offers 0', function () {
      expect(negotiateHeartbeat({ send: 0, receive: 1000 }, { send: 1000, receive: 1000 })).to.deep.equal({ sendEvery: 0, expectEvery: 1000 });
      expect(negotiateHeartbeat({ send: 1000, receive: 1000 }, { send: 0, receive: 0 })).to.deep.equal({ sendEvery: 0, expectEvery: 0 });
    });

    it('reads the header, treating absent or unreadable as 0,0', function () {
      expect(parseHeartbeat('10000, 5000')).to.deep.equal({ send: 10000, receive: 5000 });
      expect(parseHeartbeat(undefined)).to.deep.equal({ send: 0, receive: 0 });
      expect(parseHeartbeat('soon')).to.deep.equal({ send: 0, receive: 0 });
    });
  });

  describe('monitor', function () {
    it('writes a beat only after sendEvery without other writes', function () {
      const { timers, log, m } = monitor(100, 0);
      timers.advance(60);
      m.wrote();
      timers.advance(60);
      expect(log.beats, 'a write 60 ms ago counts as activity').to.equal(0);
      timers.advance(40);
      expect(log.beats).to.equal(1);
      timers.advance(300);
      expect(log.beats).to.equal(4);
      m.stop();
    });

    it('reports a server silent for twice its interval', function () {
      const { timers, log, m } = monitor(0, 100);
      timers.advance(199);
      expect(log.silent).to.deep.equal([]);
      timers.advance(1);
      expect(log.silent).to.deep.equal([200]);
      m.stop();
    });

    it('keeps a server that beats alive', function () {
      const { timers, log, m } = monitor(0, 100);
      for (let i = 0; i < 20; i++) {
        timers.advance(150);
        m.read();
      }
      expect(log.silent).to.deep.equal([]);
      timers.advance(200);
      expect(log.silent).to.have.length(1);
      m.stop();
    });

    it('reports silence once and stops beating after it', function () {
      const { timers, log } = monitor(50, 100);
      timers.advance(1000);
      expect(log.silent).to.have.length(1);
      const beats = log.beats;
      expect(beats).to.be.within(3, 4);
      timers.advance(1000);
      expect(log.beats).to.equal(beats);
      expect(timers.pending).to.equal(0);
    });

    it('leaves no timer behind after stop()', function () {
      const { timers, m } = monitor(50, 100);
      m.stop();
      expect(timers.pending).to.equal(0);
    });
  });
});
