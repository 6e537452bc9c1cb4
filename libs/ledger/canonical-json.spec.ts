import { describe, expect, it } from '@jest/globals';
import { CanonicalJsonError, canonicalJsonBytes, canonicalize } from './canonical-json.js';

function errorOf(value: unknown): CanonicalJsonError {
  try {
    canonicalize(value);
  } catch (e) {
    expect(e).toBeInstanceOf(CanonicalJsonError);
    return e as CanonicalJsonError;
  }
  throw new Error('expected a CanonicalJsonError');
}

/** IEEE 754 double from its 16 hex digit bit pattern, as RFC 8785 Appendix B lists them. */
function double(bits: string): number {
  return Buffer.from(bits, 'hex').readDoubleBE(0);
}

describe('canonicalize (RFC 8785)', () => {
  it('sorts properties by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    ) as unknown;
    // Read the order off the text: JSON.parse + Object.keys would hoist the integer key "1".
    const out = canonicalize(input);
    const order = ['\\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) => out.indexOf(`"${k}":`));
    expect(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]))).toBe(true);
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('orders an astral character (surrogate pair) before U+FB33, unlike a code point sort', () => {
    expect(canonicalize({ '\ufb33': 1, '\ud83d\ude00': 2 })).toBe('{"\ud83d\ude00":2,"\ufb33":1}');
  });

  it('reproduces the RFC 8785 §3.2.2 sample (cyberphone testdata values.json)', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('reproduces cyberphone testdata weird.json (whole, with its \\r and \\n keys) and arrays.json', () => {
    // testdata/input/weird.json of cyberphone/json-canonicalization, every key kept.
    const weird = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\u000a":"Newline","1":"One","\\u0080":"Control\\u007f",' +
        '"\\ud83d\\ude02":"Smiley","\\u00f6":"Latin Small Letter O With Diaeresis","\\ufb33":"Hebrew Letter Dalet With Dagesh","</script>":"Browser Challenge"}',
    ) as unknown;
    // testdata/output/weird.json: control characters below U+0020 escaped, everything else as is,
    // keys sorted by UTF-16 code units.
    expect(canonicalize(weird)).toBe(
      '{"\\n":"Newline","\\r":"Carriage Return","1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f",' +
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(canonicalize([56, { d: true, '10': null, '1': [] }])).toBe('[56,{"1":[],"10":null,"d":true}]');
  });

  it('serializes numbers as ECMAScript does', () => {
    expect(canonicalize(1e21)).toBe('1e+21');
    expect(canonicalize(1e20)).toBe('100000000000000000000');
    expect(canonicalize(0.000001)).toBe('0.000001');
    expect(canonicalize(1e-7)).toBe('1e-7');
    expect(canonicalize(-0)).toBe('0');
    expect(canonicalize(4.5)).toBe('4.5');
    expect(canonicalize(-1.5e-300)).toBe('-1.5e-300');
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('RFC 8785 Appendix B: %s -> %s', (bits, expected) => {
    expect(canonicalize(double(bits))).toBe(expected);
  });

  it('rejects NaN and the infinities', () => {
    expect(errorOf(NaN).message).toMatch(/NaN is not a JSON number/);
    expect(errorOf({ a: [Infinity] }).path).toBe('$.a[0]');
    expect(() => canonicalize(-Infinity)).toThrow(CanonicalJsonError);
  });

  it('escapes strings as JSON.stringify does', () => {
    expect(canonicalize('a"b\\c\n\t\u0001\u001f\u007f\u2028/')).toBe(JSON.stringify('a"b\\c\n\t\u0001\u001f\u007f\u2028/'));
    expect(canonicalize('\b\f\r')).toBe('"\\b\\f\\r"');
  });

  it('emits no whitespace and keeps array order', () => {
    expect(canonicalize({ b: [3, 1, 2], a: { y: null, x: 'x' } })).toBe('{"a":{"x":"x","y":null},"b":[3,1,2]}');
    expect(canonicalize([])).toBe('[]');
    expect(canonicalize({})).toBe('{}');
    expect(canonicalize(Object.assign(Object.create(null) as object, { z: 1, a: 2 }))).toBe('{"a":2,"z":1}');
  });

  it('rejects values that are not JSON, naming where they are', () => {
    expect(errorOf({ a: undefined }).path).toBe('$.a');
    expect(errorOf({ a: { 'b c': () => 1 } }).path).toBe('$.a["b c"]');
    expect(errorOf([1n]).message).toMatch(/bigint is not a JSON value/);
    expect(errorOf(Symbol('s')).message).toMatch(/symbol/);
    expect(errorOf(undefined).path).toBe('$');
    expect(errorOf({ when: new Date(0) }).message).toMatch(/Date is not a plain object/);
    expect(errorOf(new Map()).message).toMatch(/Map is not a plain object/);
    expect(errorOf(Buffer.from('x')).message).toMatch(/not a plain object/);
    class Event {
      id = 1;
    }
    expect(errorOf(new Event()).message).toMatch(/Event is not a plain object/);
    // eslint-disable-next-line no-sparse-arrays -- the hole is what is under test
    expect(errorOf([1, , 3]).path).toBe('$[1]');
    expect(errorOf({ [Symbol('k')]: 1 }).message).toMatch(/symbol keys/);
  });

  it('rejects lone surrogates, which have no UTF-8 encoding (I-JSON)', () => {
    expect(errorOf('\ud800').message).toMatch(/lone surrogate/);
    expect(errorOf({ '\udc00': 1 }).message).toMatch(/lone surrogate/);
    expect(canonicalize('\ud83d\ude00')).toBe('"\ud83d\ude00"');
  });

  it('rejects cycles but allows shared (non-circular) references', () => {
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(errorOf(loop).message).toMatch(/circular/);
  });

  it('produces UTF-8 bytes', () => {
    expect(canonicalJsonBytes({ '\u20ac': 1 }).toString('hex')).toBe(Buffer.from('{"€":1}', 'utf8').toString('hex'));
  });
});
