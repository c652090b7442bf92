import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { csvRecords, parseCsv } from "../lib/datasets/csv";
import { LabelMap, classBalance, loadCsv, loadJsonl } from "../lib/datasets/text_dataset";
import { stratifiedSplit } from "../lib/datasets/splits";
import { parseEmail, spamAssassin } from "../lib/datasets/spam_assassin";
import { Random } from "../lib/random";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-text-"));
const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

describe("text datasets", () => {
  it("parses CSV with quoted commas, doubled quotes, line breaks, CRLF and a BOM", () => {
    assert.deepEqual(parseCsv('\ufeffa,b\r\n"x, y","say ""hi""\nthere"\r\n3,\n'), [["a", "b"], ["x, y", 'say "hi"\nthere'], ["3", ""]]);
    assert.throws(() => parseCsv('a,"b\n'), /never closed/);
    assert.throws(() => csvRecords("a,b\n1,2,3\n"), /data row 1 has 3 fields/);
  });

  it("loads CSV and JSONL with named columns into examples and a sorted label map", () => {
    const csv = loadCsv(write("d.csv", 'body,kind,extra\n"Win money, now!",spam,1\nLunch?,ham,2\nFree offer,spam,3\n'), { textColumn: "body", labelColumn: "kind" });
    assert.deepEqual(csv.labels.names, ["ham", "spam"]);
    assert.deepEqual(csv.examples.map((e) => [e.text, e.labelId]), [["Win money, now!", 1], ["Lunch?", 0], ["Free offer", 1]]);
    const jsonl = loadJsonl(write("d.jsonl", '{"t":"great","y":2}\n\n{"t":"bad","y":0}\n{"t":"ok","y":10}\n'), { textColumn: "t", labelColumn: "y" });
    assert.deepEqual(jsonl.labels.names, ["0", "2", "10"], "numbers in numeric order");
    assert.deepEqual(jsonl.examples.map((e) => e.labelId), [1, 0, 2]);
    assert.deepEqual(classBalance(csv.examples, csv.labels), [
      { label: "ham", count: 1, fraction: 1 / 3 },
      { label: "spam", count: 2, fraction: 2 / 3 },
    ]);
    assert.deepEqual(LabelMap.fromJSON(csv.labels.toJSON()).names, csv.labels.names, "id2label round trip");
  });

  it("says what is wrong: missing column, empty file, unknown label, mixed label types, bad JSON", () => {
    const f = write("m.csv", "text,label\nhello,a\n");
    assert.throws(() => loadCsv(f, { textColumn: "text", labelColumn: "category" }), /no column "category"; its columns are text, label/);
    assert.throws(() => loadCsv(write("e.csv", "  \n"), { textColumn: "t", labelColumn: "l" }), /is empty/);
    assert.throws(() => loadCsv(write("h.csv", "t,l\n"), { textColumn: "t", labelColumn: "l" }), /has no examples/);
    assert.throws(
      () => loadCsv(write("u.csv", "t,l\nx,a\ny,z\n"), { textColumn: "t", labelColumn: "l", labelMap: new LabelMap(["a", "b"]) }),
      /example 2: LabelMap: unknown label "z"; known labels are a, b/,
    );
    assert.throws(() => loadJsonl(write("x.jsonl", '{"t":"a","l":1}\n{"t":"b","l":"pos"}\n'), { textColumn: "t", labelColumn: "l" }), /mix numbers .*and strings/);
    assert.throws(() => loadJsonl(write("b.jsonl", '{"t":"a","l":1}\n{oops\n'), { textColumn: "t", labelColumn: "l" }), /line 2 is not valid JSON/);
    assert.throws(() => loadJsonl(path.join(dir, "missing.jsonl"), { textColumn: "t", labelColumn: "l" }), /does not exist/);
  });

  it("splits every class in the same proportions, reproducibly from the seed", () => {
    const items = Array.from({ length: 200 }, (_, i) => ({ id: i, label: i % 10 === 0 ? "rare" : "common" }));
    const s = stratifiedSplit(items, (x) => x.label, { train: 0.7, validation: 0.15, test: 0.15 }, new Random(1));
    const count = (xs: typeof items, l: string) => xs.filter((x) => x.label === l).length;
    assert.deepEqual([s.train, s.validation, s.test].map((xs) => count(xs, "rare")), [14, 3, 3]);
    assert.deepEqual([s.train, s.validation, s.test].map((xs) => count(xs, "common")), [126, 27, 27]);
    assert.equal(new Set([...s.train, ...s.validation, ...s.test].map((x) => x.id)).size, 200, "a partition");
    const again = stratifiedSplit(items, (x) => x.label, { train: 0.7, validation: 0.15, test: 0.15 }, new Random(1));
    assert.deepEqual(again.test.map((x) => x.id), s.test.map((x) => x.id));
    const other = stratifiedSplit(items, (x) => x.label, { train: 0.7, validation: 0.15, test: 0.15 }, new Random(2));
    assert.notDeepEqual(other.test.map((x) => x.id), s.test.map((x) => x.id));
    assert.throws(() => stratifiedSplit(items, (x) => x.label, { train: 0.7, validation: 0.2, test: 0.2 }, new Random(1)), /sum to 1/);
  });

  it("reads the SpamAssassin corpus: 6,046 emails, subject and body without headers", () => {
    const e = parseEmail("From: a@b\nSubject: Hello\n  world\nX: y\n\nBody line\n\nmore");
    assert.deepEqual(e, { subject: "Hello world", body: "Body line\n\nmore" });
    const emails = spamAssassin();
    assert.equal(emails.length, 6046);
    assert.equal(emails.filter((m) => m.label === "spam").length, 1896);
    assert.ok(emails.filter((m) => m.subject !== "").length > 5900, "nearly every email has a subject");
    assert.ok(emails[0].raw.includes("Delivered-To:") && !emails[0].body.includes("Delivered-To:"), "headers are not in the body");
  });
});
