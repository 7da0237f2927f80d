import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tripwire } from '../../src/tripwire.js';

test('a settled call is forgotten: 10,000 calls leave nothing racing (Promise.race kept each result)', async () => {
  const lost = new Tripwire();
  const dead = new Tripwire();
  for (let i = 0; i < 10_000; i++) assert.equal(await Tripwire.race(Promise.resolve(i), lost, dead), i);
  await assert.rejects(Tripwire.race(Promise.reject(new Error('sql')), lost, dead), /sql/);
  assert.equal(lost.racing, 0);
  assert.equal(dead.racing, 0);
});

test('a trip rejects the calls in flight and every later one with its reason; the first trip wins', async () => {
  const lost = new Tripwire();
  const dead = new Tripwire();
  const never = new Promise<number>(() => undefined);
  const inFlight = Tripwire.race(never, lost, dead);
  assert.equal(lost.racing, 1);
  dead.trip(new Error('closed'));
  dead.trip(new Error('ignored'));
  await assert.rejects(inFlight, /closed/);
  assert.equal(lost.racing, 0, 'the other wire forgets it too');
  await assert.rejects(Tripwire.race(Promise.resolve(1), lost, dead), /closed/);
  assert.equal(dead.tripped, true);
  assert.equal(lost.tripped, false);
});
