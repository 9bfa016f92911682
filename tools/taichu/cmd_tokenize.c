/* taichu tokenize: BERT WordPiece ids (or pieces) of each text, one line per text.
 *
 *   taichu tokenize --vocab vocab.txt "今天天气很好" "Hello"   -> "791 1921 1921 3698 2523 1962" (bert-base-chinese) ...
 *   echo "今天" | taichu tokenize --vocab vocab.txt --tokens  -> "今 天"
 *   echo "101 791 1921 102 0" | taichu tokenize --vocab vocab.txt --decode   -> "[CLS]今天[SEP]"
 *
 * Without TEXT arguments every stdin line is one text. Ids are printed as the original's pre-tokenised
 * datasets store them: without [CLS]/[SEP]; --special adds them, and --max-pieces N truncates the pieces
 * first ([CLS] + ids[:N] + [SEP], spec §3.1). --decode reverses: each line of ids becomes text by the
 * original's rule (spec §3.3), through --ids-to-tokens FILE (ids_to_tokens_zh.json) when given.
 * --hf switches the two rare-character rules on which Python's BertTokenizer (the original's, default)
 * and HF tokenizers differ (src/data/tokenizer.h). */
#include "args.h"
#include "command.h"

#include "core/error.h"
#include "data/detok.h"
#include "data/tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct opts {
    bool tokens, special, decode, hf;
    int max_pieces;
} opts;

static void print_text(const tc_tokenizer *t, const opts *o, const char *text, size_t len, tc_ids *ids) {
    ids->n = 0;
    tc_tokenize(t, text, len, ids);
    size_t n = ids->n;
    if (o->max_pieces >= 0 && n > (size_t)o->max_pieces) n = (size_t)o->max_pieces;
    size_t total = n + (o->special ? 2 : 0);
    for (size_t k = 0; k < total; k++) {
        int32_t id = !o->special ? ids->v[k] : k == 0 ? t->cls_id : k == total - 1 ? t->sep_id : ids->v[k - 1];
        if (k) fputc(' ', stdout);
        if (o->tokens) fputs(tc_tokenizer_piece(t, id), stdout);
        else printf("%d", (int)id);
    }
    fputc('\n', stdout);
}

/* One line of whitespace-separated ids -> decoded text. */
static int print_decoded(const tc_detok *d, const char *line, int lineno, tc_ids *ids) {
    ids->n = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX)
            return tc_error_set("input line %d: \"%.20s\": expected a non-negative integer token id", lineno, p);
        tc_ids_push(ids, (int32_t)v);
        p = end;
    }
    char *text = tc_detok_decode(d, ids->v, ids->n);
    puts(text);
    free(text);
    return 0;
}

static int run_tokenize(int argc, char **argv) {
    const char *vocab = NULL, *ids_json = NULL;
    opts o = {false, false, false, false, -1};
    tc_arg_spec specs[] = {
        {"vocab", TC_ARG_STR, &vocab, "FILE", "vocab.txt in bert-base-chinese format (line number = id)",
         "TAICHU_VOCAB"},
        {"tokens", TC_ARG_FLAG, &o.tokens, NULL, "print the word pieces instead of their ids", NULL},
        {"special", TC_ARG_FLAG, &o.special, NULL, "wrap each text in [CLS] ... [SEP]", NULL},
        {"max-pieces", TC_ARG_INT, &o.max_pieces, "N", "keep only the first N pieces (before [CLS]/[SEP])", NULL},
        {"hf", TC_ARG_FLAG, &o.hf, NULL,
         "HF tokenizers' rules for unassigned code points and U+2B820..2B91F (default: Python BertTokenizer's)",
         NULL},
        {"decode", TC_ARG_FLAG, &o.decode, NULL, "read lines of ids and print their text (spec 3.3)", NULL},
        {"ids-to-tokens", TC_ARG_STR, &ids_json, "FILE", "ids_to_tokens_zh.json for --decode (default: vocab)",
         NULL},
    };
    tc_args a;
    int rc = tc_args_parse(&a, "tokenize", "[TEXT...]", specs, (int)(sizeof specs / sizeof specs[0]), argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    if (!vocab && !(o.decode && ids_json)) {
        fprintf(stderr, "taichu tokenize: --vocab FILE is required (or TAICHU_VOCAB)\n");
        tc_args_free(&a);
        return 2;
    }
    if (o.max_pieces < -1) o.max_pieces = -1;

    tc_tokenizer t;
    int have_tok = 0;
    if (vocab) {
        if (tc_tokenizer_load(&t, vocab)) { tc_args_free(&a); return tc_cli_fail(); }
        have_tok = 1;
        t.flavor = o.hf ? TC_TOK_HF : TC_TOK_PYTHON;
    }
    tc_detok d = {0};
    if (o.decode) {
        if (ids_json ? tc_detok_load_json(&d, ids_json) : (tc_detok_from_vocab(&d, &t.vocab), 0)) {
            if (have_tok) tc_tokenizer_free(&t);
            tc_args_free(&a);
            return tc_cli_fail();
        }
    }

    tc_ids ids = {0};
    int status = 0;
    if (a.npos > 0) {
        for (int i = 0; i < a.npos && !status; i++) {
            if (o.decode) status = print_decoded(&d, a.pos[i], i + 1, &ids) ? tc_cli_fail() : 0;
            else print_text(&t, &o, a.pos[i], strlen(a.pos[i]), &ids);
        }
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int lineno = 0;
        while (!status && (n = getline(&line, &cap, stdin)) >= 0) {
            lineno++;
            if (n > 0 && line[n - 1] == '\n') line[--n] = 0;
            if (o.decode) status = print_decoded(&d, line, lineno, &ids) ? tc_cli_fail() : 0;
            else print_text(&t, &o, line, (size_t)n, &ids);
        }
        free(line);
    }
    if (fflush(stdout) != 0 && !status) {
        tc_error_set("<stdout>: write failed: %s", strerror(errno));
        status = tc_cli_fail();
    }
    tc_ids_free(&ids);
    if (o.decode) tc_detok_free(&d);
    if (have_tok) tc_tokenizer_free(&t);
    tc_args_free(&a);
    return status;
}

const tc_command tc_command_tokenize = {"tokenize", "BERT WordPiece ids or pieces of text (and ids back to text)",
                                        run_tokenize};
