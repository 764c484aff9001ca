import { describe, expect, it } from 'vitest';
import { createTermMatcher, parseTermList, TermListError } from '#shared/matching/terms.ts';

const matcher = (block: string, allow = '') =>
  createTermMatcher({
    blocklist: parseTermList(block, 'blocklist'),
    ...(allow && { allowlist: parseTermList(allow, 'allowlist') }),
  });
const hits = (m: ReturnType<typeof matcher>, text: string) => m.match(text).map((h) => [h.term, h.excerpt]);

describe('term lists', () => {
  const m = matcher('idiot\nkill yourself\nhello\ngod\nass\nre:\\bl[o0]+ser\\b\n');

  it('matches a word through the usual evasions and quotes the original span', () => {
    for (const evasion of ['ＩＤＩＯＴ', '1d10t', 'i d i o t', 'i.d.i.o.t', 'idiooooot', 'іdіot', 'i̷d̷i̷o̷t̷'])
      expect(hits(m, `you ${evasion}!`)).toEqual([['idiot', evasion]]);
    const [hit] = m.match('what an 1d10t');
    expect(hit?.range).toEqual([8, 13]);
  });

  it('matches whole words only, and a letter written thrice also stands for a double letter', () => {
    expect(hits(m, 'idiots and idiotic')).toEqual([]);
    expect(hits(m, 'good god')).toEqual([['god', 'god']]);
    expect(hits(m, 'gooood')).toEqual([['god', 'gooood']]);
    expect(hits(m, 'he11o asssss as')).toEqual([
      ['hello', 'he11o'],
      ['ass', 'asssss'],
    ]);
  });

  it('matches a phrase whatever separates its words, a word split in parts, and inside spelled-out text', () => {
    expect(hits(m, 'just kill yourself')).toEqual([['kill yourself', 'kill yourself']]);
    expect(hits(m, '#killyourself')).toEqual([['kill yourself', 'killyourself']]);
    expect(hits(m, 'kill-your-self?')).toEqual([['kill yourself', 'kill-your-self']]);
    expect(hits(m, 'id iot')).toEqual([['idiot', 'id iot']]);
    expect(hits(m, 'y o u a r e a n i d i o t')).toEqual([['idiot', 'i d i o t']]);
  });

  it('runs re: lines as regular expressions on the normalised text', () => {
    expect(hits(m, 'LOOOSER')).toEqual([['re:\\bl[o0]+ser\\b', 'LOOOSER']]);
  });

  it('lets an allowlist hit exempt the blocklist hits it covers', () => {
    const scunthorpe = matcher('re:cunt\n', 'scunthorpe\n');
    expect(hits(scunthorpe, 'Scunthorpe United')).toEqual([]);
    expect(hits(scunthorpe, 'you cunt')).toEqual([['re:cunt', 'cunt']]);
  });

  it('refuses a malformed list with the line number', () => {
    const parse = (text: string) => () => parseTermList(text, 'blocklist', 'block.txt');
    expect(parse('ok\n\nre:(a\n')).toThrow(new TermListError('block.txt', 3, 'missing ) at position 3'));
    expect(parse('ok\n!!!\n')).toThrow(/block\.txt line 2: "!!!" has no letters or digits/);
    expect(parse('re:(?=x)y')).toThrow(/line 1: lookaround is not supported/);
    expect(parse('re:')).toThrow(/line 1: empty regular expression/);
  });
});
