/* config.json: presets, round trip, the original's keys, and errors that name the field. */
#include "core/error.h"
#include "core/fileio.h"
#include "model/config.h"
#include "tc_test.h"

#include <string.h>
#include <unistd.h>

int main(void) {
    tc_model_config c, d;
    for (const char *const *n = tc_model_config_preset_names(); *n; n++) {
        TC_CHECK(tc_model_config_preset(*n, &c) == 0, "%s", *n);
        TC_CHECK(tc_model_config_validate(&c, *n) == 0, "%s: %s", *n, tc_error_get());
    }
    TC_CHECK(tc_model_config_preset("opt-v1-1b", &c) == 0, "1b");
    TC_CHECK(c.hidden_size == 2048 && c.num_hidden_layers == 12 && c.num_attention_heads == 32 && c.vocab_size == 28996 &&
                 c.txt_dec_vocab_size == 36560 && c.img_dec_vocab_size == 8192 && tc_model_config_num_patches(&c) == 196,
             "1b preset values");
    TC_CHECK(tc_model_config_preset("opt-v2-base", &c) == 0 && c.arch == TC_ARCH_V2 && c.patch_size == 16 &&
                 tc_model_config_num_patches(&c) == 196 && c.itc_dim == 512 && c.text_num_layers == 6,
             "v2 preset values");
    TC_CHECK(tc_model_config_preset("nope", &c) != 0 && strstr(tc_error_get(), "opt-v2-tiny"), "unknown preset lists names");

    /* The original's v1 config file: leftover keys ignored, no arch means v1. */
    const char *orig = "{\"hidden_size\": 2048, \"num_hidden_layers\": 12, \"num_attention_heads\": 32,"
                       "\"intermediate_size\": 8192, \"hidden_act\": \"gelu\", \"vocab_size\": 28996,"
                       "\"seq_length\": 297, \"use_vit\": true, \"vit_type\": 0, \"rnn_size\": 512,"
                       "\"patch_size\": 32, \"train_image_size\": 448, \"vit_num_heads\": 12}";
    TC_CHECK(tc_model_config_parse(orig, "cross_modal_encoder_config.json", &c) == 0, "%s", tc_error_get());
    TC_CHECK(c.arch == TC_ARCH_V1 && c.dec_hidden_size == 1024, "v1 defaults for hard-wired keys");

    /* Round trip through a file. */
    char path[128];
    snprintf(path, sizeof path, "/tmp/taichu_cfg_%d.json", (int)getpid());
    tc_model_config_preset("opt-v2-tiny", &c);
    c.vocab_size = 777;
    c.hidden_dropout_prob = 0.25f;
    TC_CHECK(tc_model_config_save(path, &c) == 0, "%s", tc_error_get());
    TC_CHECK(tc_model_config_load(path, &d) == 0, "%s", tc_error_get());
    TC_CHECK(d.arch == TC_ARCH_V2 && d.vocab_size == 777 && d.hidden_dropout_prob == 0.25f && d.hidden_size == 128 &&
                 d.itc_dim == c.itc_dim && strcmp(d.hidden_act, c.hidden_act) == 0,
             "round trip");
    TC_CHECK(strcmp(d.preset, "opt-v2-tiny") == 0, "round trip keeps the preset of origin (got \"%s\")", d.preset);
    unlink(path);

    /* Errors name the file and the field. */
    TC_CHECK(tc_model_config_parse("{\"arch\": \"opt-v2\", \"num_attention_heads\": 7}", "bad.json", &c) != 0 &&
                 strstr(tc_error_get(), "bad.json") && strstr(tc_error_get(), "num_attention_heads"),
             "%s", tc_error_get());
    TC_CHECK(tc_model_config_parse("{\"hidden_size\": \"big\"}", "bad.json", &c) != 0 && strstr(tc_error_get(), "hidden_size"),
             "%s", tc_error_get());
    TC_CHECK(tc_model_config_parse("{\"arch\": \"opt-v3\"}", "bad.json", &c) != 0 && strstr(tc_error_get(), "arch"), "%s",
             tc_error_get());
    TC_CHECK(tc_model_config_parse("[1,2", "bad.json", &c) != 0, "broken json");
    TC_CHECK(tc_model_config_parse("{\"preset\": \"opt-v1-tiny\", \"arch\": \"opt-v2\"}", "bad.json", &c) != 0,
             "contradiction");
    return tc_test_summary("model_config");
}
