#include "kernel/block/SchedulerChoice.h"

namespace block {

bool parse_scheduler_name(StringView name, SchedulerKind& kind)
{
    if (name == StringView("none")) {
        kind = SchedulerKind::None;
        return true;
    }
    if (name == StringView("mq-deadline")) {
        kind = SchedulerKind::MqDeadline;
        return true;
    }
    return false;
}

const char* scheduler_kind_name(SchedulerKind kind)
{
    return kind == SchedulerKind::MqDeadline ? "mq-deadline" : "none";
}

SchedulerChoice scheduler_choice(StringView list, StringView device)
{
    SchedulerChoice choice;
    while (!list.is_empty()) {
        const isize comma = list.find(',');
        const StringView entry = comma < 0 ? list : list.substring(0, static_cast<usize>(comma));
        list = comma < 0 ? StringView() : list.substring(static_cast<usize>(comma) + 1);
        const isize colon = entry.find(':');
        if (colon <= 0 || !(entry.substring(0, static_cast<usize>(colon)) == device))
            continue;
        SchedulerKind kind;
        if (parse_scheduler_name(entry.substring(static_cast<usize>(colon) + 1), kind))
            choice = SchedulerChoice {SchedulerChoice::Status::Chosen, kind};
        else
            choice = SchedulerChoice {SchedulerChoice::Status::Unknown, SchedulerKind::None};
    }
    return choice;
}

} // namespace block
