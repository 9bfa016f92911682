/* Learning-rate schedules, as pure functions of the 0-based optimizer step (the step about to be taken),
 * so resuming from a checkpoint needs only the step count.
 *
 *   TC_LR_CONSTANT        lr = peak
 *   TC_LR_WARMUP_COSINE   the common one (HF get_cosine_schedule_with_warmup with a floor):
 *                         step < warmup: peak · step / warmup
 *                         else:          end + ½(peak − end)(1 + cos(π·p)), p = min(1, (step − warmup) / (total − warmup))
 *   TC_LR_MINDSPORE       the original's LearningRate cell (opt-spec §4.2; MindSpore WarmUpLR + CosineDecayLR):
 *                         step < warmup: peak · step / warmup
 *                         else:          end + ½(peak − end)(1 + cos(π·min(step, total) / total))
 *                         i.e. the cosine runs on the GLOBAL step over `total` (= decay_steps) steps, warm-up
 *                         included, so at step = warmup it has already decayed a little (not continuous).
 *
 * With torch: LambdaLR(opt, lambda s: tc_lr_at(s) / peak) gives the same lr for the same step. */
#ifndef TC_CORE_SCHEDULE_H
#define TC_CORE_SCHEDULE_H

typedef enum { TC_LR_CONSTANT = 0, TC_LR_WARMUP_COSINE = 1, TC_LR_MINDSPORE = 2 } tc_lr_kind;

typedef struct tc_lr_schedule {
    tc_lr_kind kind;
    double peak;   /* start_learning_rate in the original */
    double end;    /* end_learning_rate */
    long warmup;   /* warm-up steps (0: none) */
    long total;    /* WARMUP_COSINE: last step of the cosine (total training steps); MINDSPORE: decay_steps */
} tc_lr_schedule;

double tc_lr_at(const tc_lr_schedule *s, long step);

#endif
