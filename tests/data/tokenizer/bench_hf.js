// Peer for bench/bench_tokenizer.c: HF tokenizers (npm, Rust core) over the same vocab and pipeline.
//   cd tests/data/tokenizer && npm install --no-save && RAYON_NUM_THREADS=1 node bench_hf.js [TEXT...]
// encodeBatch over all lines of each file (repeated to about 4 MB), best of 5; MB = 1e6 input bytes.
// RAYON_NUM_THREADS=1 keeps HF on one core like taichu's single-threaded number.
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

async function main() {
  const vocab = path.join(__dirname, 'vocab.txt');
  const model = await tk.WordPiece.fromFile(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
  const t = new tk.Tokenizer(model);
  t.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  t.setPreTokenizer(tk.bertPreTokenizer());
  t.addSpecialTokens(['[UNK]', '[SEP]', '[CLS]', '[PAD]', '[MASK]']);
  const files = process.argv.length > 2 ? process.argv.slice(2)
    : ['chinese', 'tang300', 'song100'].map((f) => '/usr/share/games/fortunes/' + f);
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    const reps = Math.floor((4 << 20) / Buffer.byteLength(text)) + 1;
    const lines = text.repeat(reps).split('\n');
    const bytes = Buffer.byteLength(text) * reps;
    let best = Infinity;
    for (let k = 0; k < 5; k++) {
      const t0 = process.hrtime.bigint();
      await t.encodeBatch(lines, { addSpecialTokens: false });
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      if (dt < best) best = dt;
    }
    console.log(`${f.padEnd(36)} ${(bytes / 1e6).toFixed(2)} MB  HF encodeBatch ${(bytes / 1e6 / best).toFixed(1)} MB/s`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
