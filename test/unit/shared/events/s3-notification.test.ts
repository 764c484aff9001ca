import { describe, expect, it } from 'vitest';
import {
  decodeS3Key,
  NotificationParseError,
  parseS3Notification,
  verdictKey,
} from '#shared/events/s3-notification.ts';

const body = (key: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: 'b' }, object: { key, size: 12, eTag: 'abc', ...extra } },
      },
    ],
  });

describe('S3 notification parsing', () => {
  it('decodes form-encoded keys: + is a space, %XX is a byte of UTF-8', () => {
    expect(decodeS3Key('uploads/my+holiday+photo.jpg')).toBe('uploads/my holiday photo.jpg');
    expect(decodeS3Key('uploads/a%2Bb%25c.txt')).toBe('uploads/a+b%c.txt');
    expect(decodeS3Key('uploads/caf%C3%A9%20%E2%9C%93.txt')).toBe('uploads/café ✓.txt');
  });

  it('returns one ref per created object with version and size', () => {
    const refs = parseS3Notification(body('uploads/x+y.txt', { versionId: 'v1' }));
    expect(refs).toEqual([{ bucket: 'b', key: 'uploads/x y.txt', versionId: 'v1', eTag: 'abc', size: 12 }]);
    expect(verdictKey(refs[0]!)).toBe('b/uploads/x y.txt#v1');
  });

  it('uses the ETag as the version of an unversioned object', () => {
    expect(verdictKey(parseS3Notification(body('k'))[0]!)).toBe('b/k#abc');
  });

  it('ignores the s3:TestEvent sent when notifications are configured', () => {
    expect(parseS3Notification(JSON.stringify({ Event: 's3:TestEvent', Bucket: 'b' }))).toEqual([]);
  });

  it('ignores removal events', () => {
    const removed = JSON.parse(body('k'));
    removed.Records[0].eventName = 'ObjectRemoved:Delete';
    expect(parseS3Notification(JSON.stringify(removed))).toEqual([]);
  });

  it('rejects bodies that are not S3 notifications', () => {
    expect(() => parseS3Notification('not json')).toThrow(NotificationParseError);
    expect(() => parseS3Notification(JSON.stringify({ Records: [{ eventSource: 'aws:sns' }] }))).toThrow(
      /not an S3 notification/,
    );
  });
});
