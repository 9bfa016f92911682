/* Learning-rate schedules (see schedule.h). Computed in double: the schedule is a scalar per step. */
#include "core/schedule.h"

#include <math.h>

static double cosine(double peak, double end, double p) {
    if (p < 0) p = 0;
    if (p > 1) p = 1;
    return end + 0.5 * (peak - end) * (1.0 + cos(M_PI * p));
}

double tc_lr_at(const tc_lr_schedule *s, long step) {
    if (step < 0) step = 0;
    switch (s->kind) {
    case TC_LR_CONSTANT:
        return s->peak;
    case TC_LR_WARMUP_COSINE:
        if (s->warmup > 0 && step < s->warmup) return s->peak * (double)step / (double)s->warmup;
        if (s->total <= s->warmup) return s->end;
        return cosine(s->peak, s->end, (double)(step - s->warmup) / (double)(s->total - s->warmup));
    case TC_LR_MINDSPORE:
        if (s->warmup > 0 && step < s->warmup) return s->peak * (double)step / (double)s->warmup;
        if (s->total <= 0) return s->end;
        return cosine(s->peak, s->end, (double)(step < s->total ? step : s->total) / (double)s->total);
    }
    return s->peak;
}
