/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <time.h>

#include "alloc.h"
#include "bus.h"
#include "output.h"
#include "task-wait.h"

#define SPINNER_INTERVAL_USEC 250000ULL

typedef struct TaskWait {
        bool finished;
        bool service_gone;
} TaskWait;

static int on_task_finished(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        TaskWait *w = userdata;
        w->finished = true;
        return 0;
}

static int on_service_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        TaskWait *w = userdata;
        w->service_gone = true;
        return 0;
}

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void spinner_draw(const char *label, uint64_t start, unsigned *frame)
{
        static const char frames[] = "|/-\\";
        fprintf(stderr, "\r%c %s %llus", frames[(*frame)++ % 4], label,
                (unsigned long long) ((now_usec() - start) / 1000000));
}

int task_wait(sd_bus *bus, const char *service, const char *path, const char *label)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *finished_slot = NULL, *owner_slot = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *state = NULL, *owner_rule = NULL;
        bool spinner = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
        uint64_t start = now_usec();
        unsigned frame = 0;
        TaskWait w = {};
        int r;

        /* Subscribed before State is read: a task that ends in between is then seen one way or the other. */
        r = sd_bus_match_signal(
                bus, &finished_slot, service, path, "org.berth.Task1", "Finished", on_task_finished, &w);
        if (r < 0)
                return error_errno(r, "Failed to subscribe to the end of %s: %m", path);
        /* Tasks die with their daemon; without this a crash of it would leave us waiting forever. */
        owner_rule = xasprintf("type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                               "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'",
                service);
        r = sd_bus_add_match(bus, &owner_slot, owner_rule, on_service_owner_changed, &w);
        if (r < 0)
                return error_errno(r, "Failed to watch %s: %m", service);
        r = sd_bus_get_property_string(bus, service, path, "org.berth.Task1", "State", &error, &state);
        if (r < 0)
                return error_bus(r, &error);
        w.finished = !streq(state, "running");

        while (!w.finished && !w.service_gone) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        break;
                if (r > 0)
                        continue;
                if (spinner)
                        spinner_draw(label, start, &frame);
                r = sd_bus_wait(bus, spinner ? SPINNER_INTERVAL_USEC : UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        break;
        }
        if (spinner)
                fputs("\r\033[K", stderr);
        if (w.service_gone)
                return error_errno(ECONNRESET, "%s left the bus before %s ended", service, path);
        if (r < 0)
                return error_errno(r, "Lost the bus while waiting for %s: %m", path);
        return 0;
}
