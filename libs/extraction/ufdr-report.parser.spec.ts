import { describe, expect, it } from '@jest/globals';
import { parseUfdrReport, UfdrReportParser, type UfdrTaggedFile } from './ufdr-report.parser.js';

const NS = 'http://pa.cellebrite.com/report/2.0';
const SHA = 'ab'.repeat(32);

/** A report in the shape of Cellebrite's report 2.0 schema (ufdr-rs, UFEDLib, IPED readers). */
function report(body = '', prolog = '<?xml version="1.0" encoding="utf-8"?>\n'): string {
  return `${prolog}<project id="5f3c" name="KH-4 Samsung" reportVersion="7.62.0.12" licenseID="x" containsGarbage="False" extractionType="AdvancedLogical" xmlns="${NS}">
  <sourceExtractions><extractionInfo id="0" name="Advanced Logical" isCustomName="False" type="AdvancedLogical" deviceName="SM-G991B" fullName="Samsung SM-G991B" index="0" IsPartialData="False" /></sourceExtractions>
  <caseInformation>
    <field name="Fall-Nummer" isSystem="True" isRequired="False" fieldType="CaseNumber" multipleLines="False">KH-2026-0042</field>
    <field name="Examiner name" isSystem="False" isRequired="False" fieldType="None" multipleLines="False">DC Jones</field>
    <field name="Evidence number" isSystem="True" isRequired="False" fieldType="EvidenceNumber" multipleLines="False">KH/4</field>
  </caseInformation>
  <metadata section="Additional Fields"><item name="UFED_PA_Version"><![CDATA[7.62.0.12]]></item></metadata>
  <metadata section="Extraction Data">
    <item name="DeviceInfoExtractionStartDateTime" sourceExtraction="0"><![CDATA[30/11/2026 09:12:44(UTC+0)]]></item>
    <item name="DeviceInfoExtractionEndDateTime" sourceExtraction="0"><![CDATA[30/11/2026 10:02:01(UTC+0)]]></item>
    <item name="ExtractionType" sourceExtraction="0"><![CDATA[AdvancedLogical]]></item>
  </metadata>
  <metadata section="Device Info">
    <item id="1" name="DeviceInfoSelectedManufacturer" sourceExtraction="0"><![CDATA[Samsung]]></item>
    <item id="2" name="DeviceInfoSelectedDeviceName" sourceExtraction="0"><![CDATA[SM-G991B]]></item>
    <item id="3" name="DeviceInfoOSType" sourceExtraction="0"><![CDATA[Android]]></item>
    <item id="4" name="DeviceInfoOSVersion" sourceExtraction="0"><![CDATA[13]]></item>
    <item id="5" name="IMEI" sourceExtraction="0"><![CDATA[353918051234567]]></item>
    <item id="6" name="ICCID" sourceExtraction="0"><![CDATA[8944110068256270054]]></item>
    <item id="7" name="ICCID" sourceExtraction="0"><![CDATA[8944110068256270062]]></item>
    <item id="8" name="IMSI" sourceExtraction="0"><![CDATA[234150000000001]]></item>
  </metadata>
  <taggedFiles>
    <file fs="Phone" fsid="f1" path="/Root/DCIM/IMG_1.JPG" size="4" id="t1" extractionId="0" deleted="Intact" embedded="false" isrelated="False">
      <accessInfo><timestamp name="CreationTime">2026-11-01T10:00:00.000+00:00</timestamp><timestamp name="ModifyTime">2026-11-02T10:00:00.000+00:00</timestamp></accessInfo>
      <metadata section="File">
        <item name="Local Path"><![CDATA[files\\Image\\IMG_1.JPG]]></item>
        <item name="SHA256"><![CDATA[${SHA.toUpperCase()}]]></item>
        <item name="MD5"><![CDATA[0123456789abcdef0123456789abcdef]]></item>
        <item name="Tags"><![CDATA[Image]]></item>
      </metadata>
      <metadata section="MetaData"><item name="Make"><![CDATA[Samsung]]></item></metadata>
    </file>
    <file fs="Phone" path="Root/DCIM/.trash/IMG_2.JPG" size="7" id="t2" deleted="Deleted">
      <metadata section="File"><item name="Local Path" value="files\\Image\\ IMG_2.JPG" /><item name="SHA256"><![CDATA[]]></item></metadata>
    </file>
  </taggedFiles>
  <decodedData><modelType type="Contact"><model type="Contact" id="c1" deleted_state="Intact"><field name="Name"><value type="String"><![CDATA[A]]></value></field></model></modelType></decodedData>
  ${body}
</project>`;
}

/** Feeds the text in small, uneven byte chunks: multi-byte characters and references get split. */
async function parse(xml: string | Buffer, opts: ConstructorParameters<typeof UfdrReportParser>[0] = {}) {
  const bytes = Buffer.isBuffer(xml) ? xml : Buffer.from(xml, 'utf8');
  async function* chunks() {
    for (let i = 0, n = 1; i < bytes.length; i += n, n = (n % 13) + 1) yield bytes.subarray(i, i + n);
  }
  return parseUfdrReport(chunks(), opts);
}

describe('UFDR report.xml parser', () => {
  it('reads extraction, device, case and tagged-file facts by fieldType and local name', async () => {
    const files: UfdrTaggedFile[] = [];
    const r = await parse(report(), { onTaggedFile: (f) => files.push(f) });
    expect(r.project).toMatchObject({ id: '5f3c', reportVersion: '7.62.0.12', extractionType: 'AdvancedLogical' });
    expect(r.extraction).toEqual({
      type: 'AdvancedLogical',
      startTime: '30/11/2026 09:12:44(UTC+0)',
      endTime: '30/11/2026 10:02:01(UTC+0)',
      tool: 'Cellebrite UFED Physical Analyzer',
      toolVersion: '7.62.0.12',
    });
    expect(r.device).toEqual({
      vendor: 'Samsung',
      model: 'SM-G991B',
      os: 'Android',
      osVersion: '13',
      imei: ['353918051234567'],
      iccid: ['8944110068256270054', '8944110068256270062'],
      imsi: ['234150000000001'],
      msisdn: [],
    });
    expect(r).toMatchObject({ caseNumber: 'KH-2026-0042', evidenceNumber: 'KH/4', examiner: 'DC Jones', taggedFileCount: 2, deletedTaggedFileCount: 1 });
    expect(r.sourceExtractions).toEqual([expect.objectContaining({ type: 'AdvancedLogical', deviceName: 'SM-G991B' })]);
    expect(r.metadata.filter((m) => m.name === 'ICCID')).toHaveLength(2);
    expect(files[0]).toMatchObject({
      devicePath: '/Root/DCIM/IMG_1.JPG',
      fs: 'Phone',
      size: 4,
      deleted: false,
      localPath: 'files\\Image\\IMG_1.JPG',
      entryPath: 'files/Image/IMG_1.JPG',
      sha256: SHA,
      md5: '0123456789abcdef0123456789abcdef',
      tags: 'Image',
    });
    expect(files[0].timestamps).toEqual([
      { name: 'CreationTime', value: '2026-11-01T10:00:00.000+00:00' },
      { name: 'ModifyTime', value: '2026-11-02T10:00:00.000+00:00' },
    ]);
    // value attribute instead of CDATA; empty SHA256 is "not hashed", not a hash.
    expect(files[1]).toMatchObject({ deleted: true, deletedState: 'Deleted', entryPath: 'files/Image/IMG_2.JPG' });
    expect(files[1].sha256).toBeUndefined();
  });

  it('refuses a billion-laughs DOCTYPE before any entity is expanded', async () => {
    const lol = '<!DOCTYPE project [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      Array.from({ length: 7 }, (_, i) => `<!ENTITY lol${i + 3} "${`&lol${i + 2};`.repeat(10)}">`).join('') + ']>\n';
    const xml = report('', `<?xml version="1.0"?>\n${lol}`).replace('<item name="UFED_PA_Version"><![CDATA[7.62.0.12]]></item>', '<item name="UFED_PA_Version">&lol9;</item>');
    const before = process.memoryUsage().heapUsed;
    await expect(parse(xml)).rejects.toMatchObject({ code: 'UFDR_REPORT_DTD_REFUSED' });
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);
  });

  it('refuses an external entity (XXE) and never reads the file it names', async () => {
    const xml = report('', '<?xml version="1.0"?>\n<!DOCTYPE project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n').replace('KH-2026-0042', '&xxe;');
    await expect(parse(xml)).rejects.toMatchObject({ code: 'UFDR_REPORT_DTD_REFUSED' });
    // Without the DOCTYPE the reference is simply undefined: never resolved.
    await expect(parse(report().replace('KH-2026-0042', '&xxe;'))).rejects.toMatchObject({ code: 'UFDR_REPORT_MALFORMED', message: expect.stringMatching(/undefined entity/) });
  });

  it('replaces XML-illegal character references as real UFED reports need, even split across chunks', async () => {
    const r = await parse(report().replace('DC Jones', 'DC&#x1;Jones&#2;'));
    expect(r.examiner).toBe('DC\ufffdJones\ufffd');
    expect(r.replacedCharacterReferences).toBe(2);
  });

  it('refuses raw control bytes, invalid UTF-8 and other declared encodings', async () => {
    await expect(parse(report().replace('DC Jones', 'DC\u0001Jones'))).rejects.toMatchObject({ code: 'UFDR_REPORT_MALFORMED' });
    const bad = Buffer.from(report(), 'utf8');
    const i = bad.indexOf('DC Jones');
    bad[i] = 0xc3;
    bad[i + 1] = 0x28;
    await expect(parse(bad)).rejects.toMatchObject({ code: 'UFDR_REPORT_ENCODING_REFUSED' });
    await expect(parse(report('', '<?xml version="1.0" encoding="UTF-16"?>\n'))).rejects.toMatchObject({ code: 'UFDR_REPORT_ENCODING_REFUSED' });
  });

  it('refuses a report whose root is not project in the Cellebrite namespace', async () => {
    await expect(parse(report().replace(`xmlns="${NS}"`, 'xmlns="urn:other"'))).rejects.toMatchObject({ code: 'UFDR_NOT_A_REPORT' });
  });

  it('stops a text run that grows past the cap instead of buffering it', async () => {
    const huge = `<junk>${'x'.repeat(200_000)}</junk>`;
    await expect(parse(report(huge), { limits: { maxBufferedChars: 50_000 } })).rejects.toMatchObject({ code: 'UFDR_REPORT_LIMIT' });
  });

  it('cuts over-long values and counts them', async () => {
    const r = await parse(report().replace('DC Jones', 'J'.repeat(5000)), { limits: { maxValueChars: 100 } });
    expect(r.examiner).toHaveLength(100);
    expect(r.truncatedValues).toBeGreaterThan(0);
  });
});
