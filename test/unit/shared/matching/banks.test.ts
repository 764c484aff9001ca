import { describe, expect, it } from 'vitest';
import {
  BankConflictError,
  BankFileError,
  bankNameFromPath,
  DEFAULT_PDQ_DISTANCE,
  formatBankCsv,
  mergeBanks,
  parseBankFile,
} from '#shared/matching/banks.ts';

const PDQ = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
const MD5 = '0123456789abcdef0123456789abcdef';
const SHA = 'ab'.repeat(32);

describe('bank files', () => {
  it('reads the CSV format, one bank per name, with labels and the default distance', () => {
    const csv = `signal_type,signal,bank,label\npdq,${PDQ.toUpperCase()},bridges,"terror, known"\nmd5,${MD5},removals,\n`;
    const banks = parseBankFile(csv, { kind: 'deny', file: 'lists.csv' });
    expect(banks).toEqual([
      {
        name: 'bridges',
        kind: 'deny',
        pdqDistance: DEFAULT_PDQ_DISTANCE,
        entries: [{ signalType: 'pdq', signal: PDQ, label: 'terror, known' }],
      },
      {
        name: 'removals',
        kind: 'deny',
        pdqDistance: 31,
        entries: [{ signalType: 'md5', signal: MD5, label: 'removals' }],
      },
    ]);
  });

  it('reads `npm run hash` lines into the bank named by the option or the file', () => {
    const lines = `${PDQ},100,/photos/a, b.png\n${PDQ},100,/photos/copy.png#t=0\nsha256,${SHA},/photos/a.png\n`;
    const [bank] = parseBankFile(lines, { kind: 'allow', file: '/tmp/known false positives.txt' });
    expect(bank?.name).toBe('known-false-positives');
    expect(bank?.kind).toBe('allow');
    expect(bank?.entries).toEqual([
      { signalType: 'pdq', signal: PDQ, label: 'known-false-positives' },
      { signalType: 'pdq', signal: PDQ, label: 'known-false-positives' },
      { signalType: 'sha256', signal: SHA, label: 'known-false-positives' },
    ]);
    expect(parseBankFile(lines, { kind: 'deny', file: 'x', bank: 'mine', pdqDistance: 12 })[0]).toMatchObject(
      {
        name: 'mine',
        pdqDistance: 12,
      },
    );
  });

  it('round-trips through its CSV export', () => {
    const banks = parseBankFile(`signal_type,signal,bank,label\nsha256,${SHA},b1,"a ""quoted"" label"\n`, {
      kind: 'deny',
      file: 'f',
    });
    expect(parseBankFile(formatBankCsv(banks), { kind: 'deny', file: 'f' })).toEqual(banks);
  });

  it('refuses a malformed file with the line number, loading nothing from it', () => {
    const parse = (text: string) => () => parseBankFile(text, { kind: 'deny', file: 'bank.csv' });
    const header = 'signal_type,signal,bank,label\n';
    expect(parse(`${header}pdq,${PDQ},b,l\nmd5,${MD5.slice(1)}g,b,l\n`)).toThrow(
      new BankFileError('bank.csv', 3, `md5 signal "${MD5.slice(1)}g" is not hexadecimal`),
    );
    expect(parse(`${header}pdq,${PDQ.slice(2)},b,l\n`)).toThrow(
      /line 2: pdq signal has 62 hex digits; pdq has 64/,
    );
    expect(parse(`${header}sha1,${MD5},b,l\n`)).toThrow(
      /line 2: signal_type "sha1" is not one of pdq, md5, sha256/,
    );
    expect(parse(`${header}pdq,${PDQ},b\n`)).toThrow(/line 2: 3 fields; a row has 4/);
    expect(parse(`${header}pdq,${PDQ},bad bank!,l\n`)).toThrow(/line 2: bank name "bad bank!"/);
    expect(parse(`${PDQ},100,a.png\n${PDQ.slice(1)},100,b.png\n`)).toThrow(
      /line 2: pdq signal has 63 hex digits/,
    );
    expect(parse(`${PDQ},101,a.png\n`)).toThrow(/line 1: quality "101" is not an integer 0-100/);
    expect(parse('hash,quality,path\n')).toThrow(/line 1: expected the header signal_type,signal,bank,label/);
    expect(parse('\n\n')).toThrow(/line 1: the file is empty/);
  });

  it('merges banks of one name and refuses one name with two kinds or distances', () => {
    const a = parseBankFile(`sha256,${SHA},a.png\n`, { kind: 'deny', file: 'x', bank: 'b' });
    const b = parseBankFile(`md5,${MD5},b.png\n`, { kind: 'deny', file: 'y', bank: 'b' });
    expect(mergeBanks([...a, ...b])[0]?.entries).toHaveLength(2);
    const allow = parseBankFile(`md5,${MD5},b.png\n`, { kind: 'allow', file: 'z', bank: 'b' });
    expect(() => mergeBanks([...a, ...allow])).toThrow(BankConflictError);
    const far = parseBankFile(`md5,${MD5},b.png\n`, { kind: 'deny', file: 'z', bank: 'b', pdqDistance: 40 });
    expect(() => mergeBanks([...a, ...far])).toThrow(/PDQ distances 31 and 40/);
  });

  it('names a bank after its file', () => {
    expect(bankNameFromPath('/x/deny-list.v2.csv')).toBe('deny-list.v2');
    expect(bankNameFromPath('my bank.csv')).toBe('my-bank');
  });
});
