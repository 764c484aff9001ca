/** A request's content as the pipeline's input: a text, one medium, or a post manifest with its media. */
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/api/errors.ts';
import { nativeSubmission } from '#shared/api/native.ts';
import { PART, rawSubmission, submissionOf } from '#shared/api/submission.ts';
import { LIMITS } from '#shared/ingest/limits.ts';

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('submissionOf', () => {
  it('makes a text alone the part `text`, declared text (never sniffed as something else)', () => {
    // A string that reads like a post manifest is still a string.
    const caption = '{"text":"hi","media":["x.png"]}';
    const sub = submissionOf('acme', caption, []);
    expect(sub.tenant).toBe('acme');
    expect(sub.key).toBe(PART.text);
    expect([...sub.parts.keys()]).toEqual(['text']);
    expect(text(sub.parts.get('text'))).toBe(caption);
    expect(sub.sniffed).toEqual({ kind: 'text', mime: 'text/plain' });
  });

  it('makes one medium alone the part `media/0`, its kind left to the sniffer', () => {
    const sub = submissionOf('acme', undefined, [png]);
    expect(sub.key).toBe('media/0');
    expect([...sub.parts.keys()]).toEqual(['media/0']);
    expect(sub.parts.get('media/0')).toBe(png);
    expect(sub.sniffed).toBeUndefined();
  });

  it('makes text and media a post whose manifest lists the media parts', () => {
    const other = new Uint8Array([0xff, 0xd8, 0xff]);
    const sub = submissionOf('acme', 'look at this', [png, other]);
    expect(sub.key).toBe(PART.post);
    expect([...sub.parts.keys()].sort()).toEqual(['media/0', 'media/1', 'post']);
    expect(JSON.parse(text(sub.parts.get('post')))).toEqual({
      text: 'look at this',
      media: ['media/0', 'media/1'],
    });
    expect(sub.parts.get('media/1')).toBe(other);
    expect(sub.sniffed).toBeUndefined();
  });

  it('makes several media without text a post with no caption', () => {
    const sub = submissionOf('acme', undefined, [png, png]);
    expect(sub.key).toBe('post');
    expect(JSON.parse(text(sub.parts.get('post')))).toEqual({ media: ['media/0', 'media/1'] });
  });

  it('refuses more media than a post may carry with 400 naming `media`', () => {
    const media = Array.from({ length: LIMITS.post.maxMedia + 1 }, () => png);
    let err: unknown;
    try {
      submissionOf('acme', 'caption', media);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'INVALID_REQUEST', field: 'media' });
    expect(() => submissionOf('acme', 'caption', media.slice(1))).not.toThrow();
  });
});

describe('rawSubmission / nativeSubmission', () => {
  it('takes a raw body as the part `body`, its kind sniffed (the Content-Type is not believed)', () => {
    const sub = nativeSubmission('acme', 'text/plain', png);
    expect(sub.key).toBe(PART.body);
    expect(sub.parts.get('body')).toBe(png);
    expect(sub.sniffed).toBeUndefined();
    expect(rawSubmission('acme', png)).toEqual(sub);
  });

  it('reads a JSON body (charset and case aside) as text and base64 media', () => {
    const body = new TextEncoder().encode(
      JSON.stringify({
        text: 'caption',
        media: [{ data: Buffer.from(png).toString('base64'), contentType: 'image/png' }],
      }),
    );
    const sub = nativeSubmission('acme', 'Application/JSON; charset=utf-8', body);
    expect(sub.key).toBe('post');
    expect([...(sub.parts.get('media/0') ?? [])]).toEqual([...png]);
  });

  it('names the medium whose base64 is bad', () => {
    const body = new TextEncoder().encode(
      JSON.stringify({ media: [{ data: 'QQ==' }, { data: 'no good!' }] }),
    );
    expect(() => nativeSubmission('acme', 'application/json', body)).toThrow(
      expect.objectContaining({ status: 400, field: 'media[1].data' }),
    );
  });
});
