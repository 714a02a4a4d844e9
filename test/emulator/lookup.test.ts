// The emulator's lookups answer what a scan of the array would, however the state's arrays have changed since.
import { findById, RecordIndex } from '../../emulator/lookup';

interface Item {
  key: string;
  n: number;
}

const item = (key: string, n = 0): Item => ({ key, n });
const index = () => new RecordIndex<Item>((i) => i.key);
const scan = (items: Item[], key: string) => items.find((i) => i.key === key);

describe('RecordIndex', () => {
  it('finds records pushed after the first lookup, and answers undefined for a key never added', () => {
    const items = [item('a'), item('b')];
    const byKey = index();
    expect(byKey.find(items, 'b')).toBe(items[1]);
    items.push(item('c'));
    expect(byKey.find(items, 'c')).toBe(items[2]);
    expect(byKey.find(items, 'z')).toBeUndefined();
  });

  it('follows an array replaced by a filtered copy: the removed record is gone from the copy only', () => {
    const byKey = index();
    const before = [item('a'), item('b'), item('c')];
    expect(byKey.find(before, 'b')).toBe(before[1]);
    const after = before.filter((i) => i.key !== 'b');
    expect(byKey.find(after, 'b')).toBeUndefined();
    expect(byKey.find(after, 'c')).toBe(after[1]);
    expect(byKey.find(before, 'b')).toBe(before[1]);
  });

  it('is not misled by records removed or moved in place, even when the length is back where it was', () => {
    const byKey = index();
    const items = [item('a'), item('b'), item('c')];
    expect(byKey.find(items, 'c')).toBe(items[2]);
    items.splice(0, 1); // the jobs' way: the oldest taken off the front
    items.push(item('d'));
    expect(byKey.find(items, 'd')).toBe(scan(items, 'd'));
    expect(byKey.find(items, 'a')).toBeUndefined();
    expect(byKey.find(items, 'c')).toBe(scan(items, 'c'));
    items.reverse();
    for (const key of ['b', 'c', 'd']) expect(byKey.find(items, key)).toBe(scan(items, key));
    items.length = 1;
    expect(byKey.find(items, 'd')).toBe(items[0]);
    expect(byKey.find(items, 'b')).toBeUndefined();
  });

  it('agrees with a scan over a long run of random pushes, filters, splices and lookups', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const byKey = index();
    let items: Item[] = [];
    for (let step = 0; step < 5000; step++) {
      const action = random(10);
      if (action < 4) items.push(item(`k${step}`, step)); // keys unique, as the state's IDs are
      else if (action === 4) items = items.filter((i) => i.n % 7 !== step % 7);
      else if (action === 5 && items.length) items.splice(random(items.length), 1);
      else {
        const key = `k${random(step + 1)}`;
        expect(byKey.find(items, key)).toBe(scan(items, key));
      }
    }
  });
});

describe('findById', () => {
  const records = [1, 2, 5, 8, 13].map((id) => ({ id }));
  it('finds each record of an ascending array, and nothing between or beyond them', () => {
    for (const record of records) expect(findById(records, record.id)).toBe(record);
    for (const id of [0, 3, 9, 14]) expect(findById(records, id)).toBeUndefined();
    expect(findById([], 1)).toBeUndefined();
  });
});
