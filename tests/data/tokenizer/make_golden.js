// Generates taichu's tokenizer test data with Hugging Face `tokenizers` (npm, Rust core):
//   vocab.txt          a bert-base-chinese-format vocabulary built from Debian's fortunes-zh
//   golden.json        input bytes (hex) -> ids ([CLS] ... [SEP]), ids truncated to 50, pre-tokenised words
//   unicode_sweep.txt  how every code point is normalised/split inside "a<cp>b"
//
//   cd tests/data/tokenizer && npm install --no-save && node make_golden.js
// Needs the Debian package fortunes-zh (/usr/share/games/fortunes/{chinese,tang300,song100}).
// The pipeline is BertWordPieceTokenizer's: BertNormalizer(clean_text, handle_chinese_chars,
// strip_accents, lowercase) + BertPreTokenizer + WordPiece(unk [UNK], "##", 100 chars) +
// BertProcessing([CLS], [SEP]), with the five special tokens added as special (never normalised).
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

const OUT = __dirname;
const FORTUNES = '/usr/share/games/fortunes';
const texts = ['chinese', 'tang300', 'song100'].map((f) => fs.readFileSync(path.join(FORTUNES, f), 'utf8'));
const all = texts.join('\n');

// ---------------------------------------------------------------- vocabulary
function buildVocab() {
  const v = ['[PAD]'];
  for (let i = 1; i < 100; i++) v.push(`[unused${i}]`);
  v.push('[UNK]', '[CLS]', '[SEP]', '[MASK]', '<S>', '<T>');
  const seen = new Set(v);
  const add = (t) => { if (!seen.has(t)) { seen.add(t); v.push(t); } };
  // ASCII punctuation and symbols, digits, letters (bert-base-chinese starts the same way)
  for (let c = 33; c < 127; c++) add(String.fromCharCode(c).toLowerCase());
  for (const t of ['00', '10', '12', '100', '2019', '2020', '000', '##0', '##1', '##2', '##3', '##4', '##5', '##6',
    '##7', '##8', '##9', '##00', '##000']) add(t);
  // non-ASCII punctuation/symbols seen in fortunes-zh (full-width forms, box drawing) and a few emoji
  for (const t of '，。、：；！？（）《》“”‘’「」『』【】〔〕…—－·‧・─│┼├┤┌┐└┘→⇔×°±©®€£¥～［］．％＃＠＆＊＋＝＜＞｜／＼＿😀😂👍❤🇨') add(t);
  // full-width digits/letters are not folded by BERT (no NFKC): include a few as themselves
  for (const t of '０１２３４５６７８９ａｂｃ') add(t);
  // CJK ideographs used at least twice in fortunes-zh, in code-point order; rarer ones stay [UNK]
  const count = new Map();
  for (const ch of all) {
    const c = ch.codePointAt(0);
    if (c >= 0x4e00 && c <= 0x9fff) count.set(ch, (count.get(ch) || 0) + 1);
  }
  const cjk = [...count.entries()].filter(([, n]) => n >= 2).map(([ch]) => ch).sort((a, b) => a.codePointAt(0) - b.codePointAt(0));
  for (const ch of cjk) add(ch);
  add('豈'); add('㐀'); add('𠀀'); add('𫠠'); add('한');
  // English: whole words seen at least 3 times, common suffixes, and every letter as a continuation so
  // that most Latin words split into pieces instead of becoming [UNK]
  const wc = new Map();
  for (const w of all.match(/[A-Za-z]+/g)) { const l = w.toLowerCase(); wc.set(l, (wc.get(l) || 0) + 1); }
  const words = [...wc.entries()].filter(([w, n]) => n >= 3 && w.length > 1).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [w] of words.slice(0, 1200)) add(w);
  for (const w of ['un', 're', 'super', 'hello', 'world', 'python', 'iphone', 'covid', 'cafe', 'naive', 'resume', 'strasse',
    'angstrom', 'unbeliev']) add(w);
  for (const s of ['s', 'es', 'ed', 'ing', 'er', 'ly', 'tion', 'ment', 'ness', 'able', 'al', 'ist', 'ic', 'ous', 'ise',
    'ize', 'ity', 'ful', 'less', 'believ', 'cali', 'fragil', 'istic']) add('##' + s);
  for (let c = 97; c <= 122; c++) add('##' + String.fromCharCode(c));
  // a few "##" CJK pieces, as bert-base-chinese has one for every character
  for (const ch of cjk.slice(0, 300)) add('##' + ch);
  return v;
}

// ---------------------------------------------------------------- tokenizer
async function makeTokenizer(vocabFile) {
  const model = await tk.WordPiece.fromFile(vocabFile, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
  const t = new tk.Tokenizer(model);
  t.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  t.setPreTokenizer(tk.bertPreTokenizer());
  t.setPostProcessor(tk.bertProcessing(['[SEP]', 102], ['[CLS]', 101]));
  t.addSpecialTokens(['[UNK]', '[SEP]', '[CLS]', '[PAD]', '[MASK]']);
  return t;
}

// ---------------------------------------------------------------- cases
const B = (s) => Buffer.from(s, 'utf8');
const hand = [
  ['chinese', '今天天气很好，我们去公园散步吧。'],
  ['chinese_long', '在 Debian 这种规模的项目中，很难避免遇到与你意见不和，或者难以合作的人。请接受这一事实，并保持礼貌。意见不一致并不是糟糕举止或者人身攻击的借口，而且让人感觉受到威胁显然不是健康的社区氛围。'],
  ['mixed', '我爱Python编程，iPhone12发布了！COVID-19疫情在2020年'],
  ['digits', '2019年12月31日 3.14159 1,000,000 １２３ ０９'],
  ['fullwidth_punct', '“你好”（测试）《书名》【注】「引号」——省略……！？：；、～'],
  ['fullwidth_ascii', 'ＡＢＣ ａｂｃ ＄＋＜＝＞＾｀｜～ ﾊﾝｶｸ'],
  ['ascii_punct', 'a!b"c#d$e%f&g\'h(i)j*k+l,m-n.o/p:q;r<s=t>u?v@w[x\\y]z^_`{|}~'],
  ['english', 'Hello World! The quick brown fox jumps over the lazy dog. Unbelievable supercalifragilisticexpialidocious'],
  ['english_unk', 'pneumonoultramicroscopicsilicovolcanoconiosis Zyzzyva'],
  ['url_path', 'https://www.debian.org/doc/manuals/ /usr/share/games/fortunes sudo apt-get install fortunes-zh'],
  ['accents', 'Café Naïve résumé ÀÉÎÕÜ Ångström Tiếng Việt crème brûlée'],
  ['greek_cyrillic', 'Ελληνικά ΣΑΣ Привет йод Ёж'],
  ['turkish_german', 'İstanbul ıı Straße ẞ ǅ ǈ'],
  ['compat_chars', 'ﬁ ﬂ Ⅻ Ⅽ \u212A \u2126 \u212B ² ³ ½ ℂ ㎏'],
  ['hangul_kana', '한국어 한 ひらがな カタカナ ｶﾀｶﾅ'],
  ['cjk_ranges', '㐀 𠀀𠀁 豈更車 \u{2F800} \u{2B820}x \u{2B920}x \u{2CEAF} \u{30000}'],
  ['scripts', 'العربية हिन्दी ภาษาไทย ქართული'],
  ['emoji', '😀😂 👍🏽 👨‍👩‍👧 🇨🇳 ❤️ 🥰 ✈︎ ☺'],
  ['emoji_in_words', 'x😀y 好😀 😀好 a👍b'],
  ['control_chars', 'a\u0000b\u0007c\td\ne\rf\u000bg\u000ch\u001bi\u007fj\u0085k\u200bl\u200dm\ufeffn\u00ado\u2028p\u2029q'],
  ['ansi', '\u001b[33m    -- Debian \u001b[32m《行为准则》\u001b[m第一条\u001b[m'],
  ['whitespace', ' \t 你\u00a0好\u3000世\u2003界 \u202f a\u1680b\u205fc '],
  ['combining', 'e\u0301 a\u0308\u0304 x\u{1D16D}\u{1D165}y n\u0303\u0327 \u0301start'],
  ['marks_spacing', 'ना नि क्षि \u0903x'],
  ['symbols_sk', 'a\u1FEFb a\u1FEDb a\u00b4b a\u02c6b a\u0060b'],
  ['unassigned_private', 'a\u0378b a\uE000b a\u{F0000}b a\u{10FFFF}b \uFFFF'],
  ['replacement_char', 'a\ufffdb \ufffd'],
  ['specials', '[CLS] 你好 [SEP] [MASK]好[MASK] a[UNK]b [PAD][PAD]'],
  ['specials_case', '[cls] [Mask] [MASK [MASK]] [[SEP]] [unused1] <S> <T>'],
  ['long_word_100', 'a'.repeat(100)],
  ['long_word_101', 'a'.repeat(101)],
  ['long_word_accents_100', 'é'.repeat(100)],
  ['long_word_mixed', 'x'.repeat(99) + 'é' + ' ' + 'y'.repeat(150) + ' 好' + 'b'.repeat(100) + '好'],
  ['long_cjk', '天'.repeat(150)],
  ['long_unbroken_ascii', 'abcdefghij'.repeat(30)],
  ['empty', ''],
  ['spaces_only', '   \t\n  '],
  ['controls_only', '\u0001\u0002\u200b'],
  ['single_punct', '。'],
];
const handBytes = [
  ['invalid_ff', Buffer.from([0xff])],
  ['invalid_inside_word', Buffer.concat([B('abc'), Buffer.from([0xff]), B('def')])],
  ['invalid_between_cjk', Buffer.concat([B('中'), Buffer.from([0xfe, 0xfd]), B('文')])],
  ['invalid_bad_continuation', Buffer.from([0xc3, 0x28, 0x41])],
  ['invalid_truncated_cjk', Buffer.concat([Buffer.from([0xe4, 0xb8]), B('中 x'), Buffer.from([0xe4, 0xb8])])],
  ['invalid_surrogate', Buffer.concat([B('a'), Buffer.from([0xed, 0xa0, 0x80]), B('b')])],
  ['invalid_above_10ffff', Buffer.concat([B('a'), Buffer.from([0xf4, 0x90, 0x80, 0x80]), B('b')])],
  ['invalid_overlong', Buffer.concat([B('a'), Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf]), B('b')])],
  ['invalid_truncated_emoji', Buffer.concat([Buffer.from([0xf0, 0x9f, 0x98]), B('中')])],
  ['invalid_lone_continuations', Buffer.concat([Buffer.from([0x80, 0xbf]), B('中'), Buffer.from([0x80])])],
  ['invalid_before_punct', Buffer.concat([B('你'), Buffer.from([0xc2]), B('，'), Buffer.from([0xe2, 0x80]), B('好')])],
];

function fortuneLines() {
  // every k-th non-empty line, ANSI escapes included, plus some whole multi-line fortunes
  const lines = [];
  for (const t of texts) for (const l of t.split('\n')) if (l.trim() && l !== '%') lines.push(l);
  const k = Math.floor(lines.length / 300);
  const out = [];
  for (let i = 0; i < lines.length && out.length < 300; i += k) out.push(lines[i]);
  const entries = texts[0].split('\n%\n');
  for (let i = 0; i < entries.length && out.length < 330; i += Math.floor(entries.length / 30)) out.push(entries[i]);
  return out;
}

const SPECIALS = ['[UNK]', '[SEP]', '[CLS]', '[PAD]', '[MASK]'];
function words(t, s) {
  if (SPECIALS.some((x) => s.includes(x))) return null; // special tokens bypass the normaliser
  return t.getPreTokenizer().preTokenizeString(t.getNormalizer().normalizeString(s)).map((w) => w[0]);
}

async function main() {
  const vocab = buildVocab();
  const vocabFile = path.join(OUT, 'vocab.txt');
  fs.writeFileSync(vocabFile, vocab.join('\n') + '\n');
  const t = await makeTokenizer(vocabFile);
  const t50 = await makeTokenizer(vocabFile);
  t50.setTruncation(50);

  const inputs = [];
  for (const [name, s] of hand) inputs.push([name, B(s)]);
  for (const [name, b] of handBytes) inputs.push([name, b]);
  fortuneLines().forEach((l, i) => inputs.push([`fortune_${i}`, B(l)]));
  const dec = new TextDecoder('utf-8', { fatal: false }); // invalid bytes -> U+FFFD (then dropped by clean-up)
  const cases = [];
  for (const [name, bytes] of inputs) {
    const s = dec.decode(bytes);
    const e = await t.encode(s);
    const c = { name, hex: bytes.toString('hex'), ids: e.getIds() };
    const e50 = await t50.encode(s);
    if (e50.getIds().length !== c.ids.length) c.ids50 = e50.getIds();
    const w = words(t, s);
    if (w) c.words = w;
    cases.push(c);
  }
  const golden = { generator: 'tests/data/tokenizer/make_golden.js', tokenizers: require('tokenizers/package.json').version,
    vocab: 'vocab.txt', cases };
  fs.writeFileSync(path.join(OUT, 'golden.json'), JSON.stringify(golden).replace(/\},\{"name"/g, '},\n{"name"') + '\n');

  // Unicode sweep: "a" + cp + "b" for every scalar value; one line per run of code points that behave
  // alike and map to themselves, one line per code point that normalises to something else.
  //   D dropped  S whitespace break  I isolated (punctuation / CJK)  W stays inside the word
  const norm = t.getNormalizer(), pre = t.getPreTokenizer();
  const lines = [];
  let run = null;
  const endRun = () => { if (run) lines.push(`${run.a.toString(16)}-${run.b.toString(16)} ${run.k}`); run = null; };
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    const w = pre.preTokenizeString(norm.normalizeString('a' + ch + 'b')).map((x) => x[0]);
    let k, x;
    if (w.length === 1 && w[0] === 'ab') { k = 'D'; x = ''; }
    else if (w.length === 2 && w[0] === 'a' && w[1] === 'b') { k = 'S'; x = ''; }
    else if (w.length === 3 && w[0] === 'a' && w[2] === 'b') { k = 'I'; x = w[1]; }
    else if (w.length === 1 && w[0].startsWith('a') && w[0].endsWith('b')) { k = 'W'; x = w[0].slice(1, -1); }
    else { k = 'X'; x = w.join('\u0001'); }
    const same = k === 'D' || k === 'S' || x === ch;
    if (same && run && run.k === k && run.b === cp - 1) { run.b = cp; continue; }
    if (same && run && run.k === k && run.b === 0xd7ff && cp === 0xe000) { run.b = cp; continue; }
    endRun();
    if (same) run = { a: cp, b: cp, k };
    else lines.push(`${cp.toString(16)} ${k} ${Buffer.from(x, 'utf8').toString('hex')}`);
  }
  endRun();
  fs.writeFileSync(path.join(OUT, 'unicode_sweep.txt'),
    '# generated by make_golden.js with HF tokenizers ' + golden.tokenizers + ': see docs/tokenizer.md\n' + lines.join('\n') + '\n');
  console.log(`vocab ${vocab.length} tokens, ${cases.length} cases, sweep ${lines.length} lines`);
}
main().catch((e) => { console.error(e); process.exit(1); });
