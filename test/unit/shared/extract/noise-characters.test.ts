/**
 * Zalgo (stacked combining marks) and bidi isolates: the evidence a reviewer reads is clean, its
 * range still points into the text as scored, and what the model scores is unchanged.
 */
import { describe, expect, it } from 'vitest';
import { extractText } from '#shared/extract/text.ts';
import { TEXT_CHANNEL, textModality } from '#shared/modalities/text.ts';
import { type CollectContext, cleanExcerpt, type TextItem, textEvidence } from '#shared/modalities/types.ts';

const zalgo = (word: string) =>
  [...word].map((c) => `${c}\u0336\u0334\u0321\u0322\u0327\u0328\u031b\u0316\u0317\u0318`).join('');

describe('noise characters in evidence', () => {
  it('shows a clean excerpt beside the original range', () => {
    const raw = `you are ${zalgo('worthless')} and \u2067\u2066stupid\u2069\u2069 \u2068ok\u2069`;
    const [window] = extractText(raw).windows;
    const item: TextItem = {
      source: 's3://b/k',
      text: window?.text ?? '',
      range: [window?.start ?? 0, window?.end ?? 0],
    };
    const evidence = textEvidence(item, { hate: 0.9 });
    expect(evidence.excerpt).toBe('you are worthless and stupid ok');
    expect(evidence.range).toEqual(item.range);
    // What was scored keeps its characters: this work changes evidence, not scoring.
    expect(item.text).toContain('\u2067\u2066stupid');
    expect(item.text).toContain('\u0327\u0328');
  });

  it('keeps ordinary marks, scripts and emoji as they are', () => {
    for (const text of [
      'crème brûlée',
      'Việt Nam',
      'สวัสดีครับ',
      'שָׁלוֹם',
      'नमस्ते',
      '👨‍👩‍👧 family',
      'tab\tand\nnewline',
    ]) {
      expect(cleanExcerpt(text)).toBe(text);
    }
  });

  it('drops bidi controls, invisible format characters and C1 controls, and cuts on a code point', () => {
    expect(cleanExcerpt('a\u202eb\u200fc\u061cd\u00ade\u009b31mf')).toBe('abcde31mf');
    const long = `${'x'.repeat(279)}😀tail`;
    expect(cleanExcerpt(long)).toBe(`${'x'.repeat(279)}…`);
  });

  it('decodes UTF-16 uploads into the same channel items as UTF-8', async () => {
    const text = 'the same words, whatever the encoding';
    const ctx = { source: 's3://b/k' } as CollectContext;
    const sniffed = { kind: 'text' as const, mime: 'text/plain' };
    const fromUtf8 = await textModality.collect(Buffer.from(text), sniffed, ctx);
    const fromUtf16 = await textModality.collect(Buffer.from(`\ufeff${text}`, 'utf16le'), sniffed, ctx);
    expect(fromUtf16.channels[TEXT_CHANNEL.name]).toEqual(fromUtf8.channels[TEXT_CHANNEL.name]);
  });
});
