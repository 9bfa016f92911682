/* Shared helpers of the dataset readers (dataset_*.c); not a public API. */
#ifndef TC_DATA_DATASET_INTERNAL_H
#define TC_DATA_DATASET_INTERNAL_H

#include <cjson/cJSON.h>

#include "data/dataset.h"

/* Parse JSON; on failure sets "<name>: broken JSON at line L, column C" and returns NULL. */
cJSON *tc_ds_json_parse(const char *json, size_t len, const char *name);
/* Read + parse a file. */
cJSON *tc_ds_json_load(const char *path);

/* An id list: a JSON array of integers in [0, vocab_size). On error writes the reason to why[cap]
 * and returns -1. allow_empty 0: an empty list is an error. */
int tc_ds_json_ids(const cJSON *arr, const tc_ds_opts *o, int allow_empty, tc_ds_ids *out, char *why, size_t cap);

/* A string or integer field as a malloc'd string (ids are stored either way); NULL if absent/other. */
char *tc_ds_json_str_or_int(const cJSON *v);

/* Entry-level failure: with o->skip_bad, count it in r (keeping the first message) and return 0 (the
 * caller drops the entry); else set the error "<name>: <entry>: <why>" and return -1. */
int tc_ds_entry_fail(tc_ds_report *r, const tc_ds_opts *o, const char *name, const char *entry, const char *why);

#endif
