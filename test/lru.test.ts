// The runtime's bounded caches (runtime/lru.ts): pipelines per device, compiled WebGL
// programs and recent run durations keep their most recently used entries only.

import test from 'ava';
import { LruMap } from '../runtime/lru.js';

test('LruMap evicts the least recently used entry past its capacity, and tells', (t) => {
  const gone: string[] = [];
  const m = new LruMap<string, number>(2, (v, k) => gone.push(`${k}=${v}`));
  m.set('a', 1);
  m.set('b', 2);
  t.is(m.get('a'), 1); // a is now the most recently used
  m.set('c', 3);
  t.deepEqual(gone, ['b=2']);
  t.is(m.get('b'), undefined);
  t.is(m.size, 2);
  m.set('a', 10); // replacing is a use, not an eviction
  m.set('d', 4);
  t.deepEqual(gone, ['b=2', 'c=3']);
  t.is(m.get('a'), 10);
});

test('LruMap.delete forgets without telling; clear tells for every entry', (t) => {
  const gone: number[] = [];
  const m = new LruMap<string, number>(3, (v) => gone.push(v));
  m.set('a', 1);
  m.set('b', 2);
  t.true(m.delete('a'));
  t.false(m.delete('a'));
  t.deepEqual(gone, []);
  m.set('c', 3);
  m.clear();
  t.deepEqual(gone, [2, 3]);
  t.is(m.size, 0);
});
