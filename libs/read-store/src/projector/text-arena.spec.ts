import { TextArena } from './text-arena';

describe('TextArena (the texts of the documents a fold holds, joined into large strings)', () => {
  it('gives back every text it keeps by its handle, before and after the texts around it are joined into a chunk', () => {
    const arena = new TextArena();
    // more than two chunks of 2,048 texts (and more handles than its first array of ends has room for), of
    // varied lengths: empty, long, not ASCII
    const texts = Array.from({ length: 2048 * 20 + 5 }, (_, i) =>
      i % 7 === 0 ? '' : i % 11 === 0 ? `{"name":"Zoë ${i} ☃"}` : `{"_id":"d${i}","pad":"${'x'.repeat(i % 300)}"}`,
    );
    const handles = texts.map((text) => arena.add(text));
    expect(handles).toEqual(texts.map((_, i) => i));
    expect(arena.count).toBe(texts.length);
    for (const [i, handle] of handles.entries()) expect(arena.text(handle)).toBe(texts[i]);
  });

  it('reads a text back at once, while its chunk is being filled, and the same once the chunk is joined', () => {
    const arena = new TextArena();
    const first = arena.add('{"a":1}');
    expect(arena.text(first)).toBe('{"a":1}');
    for (let i = 1; i < 2048; i++) arena.add(`{"i":${i}}`);
    // the 2,048th text joined the first chunk
    expect([arena.text(first), arena.text(2047)]).toEqual(['{"a":1}', '{"i":2047}']);
    const next = arena.add('{"b":2}');
    expect(arena.text(next)).toBe('{"b":2}');
  });
});
