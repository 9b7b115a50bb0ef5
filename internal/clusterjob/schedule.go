package clusterjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/robfig/cron/v3"
)

// Scheduler runs a Job on a cron schedule. Make one with Schedule.
type Scheduler struct {
	c    *cron.Cron
	done chan struct{}
}

// parseSchedule parses spec as Schedule takes it.
func parseSchedule(spec string) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cluster schedule %q: %w: %w", spec, err, ErrConfig)
	}
	return sched, nil
}

// CheckSchedule returns an error wrapping ErrConfig when spec is not a
// schedule Schedule takes, so that a command can refuse it before it
// starts anything.
func CheckSchedule(spec string) error {
	_, err := parseSchedule(spec)
	return err
}

// Schedule starts running job on spec, a standard five-field cron
// expression ("minute hour day-of-month month day-of-week", such as
// "0 6 * * *" for 06:00 every day) or a descriptor ("@daily", "@every 6h"),
// in the local time zone unless spec starts with "CRON_TZ=Zone ". A tick
// that comes while the previous run is still going is skipped (and
// logged). The job's runs use ctx; when ctx ends the schedule stops, and
// Done is closed once the run under way, if any, has returned.
func Schedule(ctx context.Context, spec string, job *Job, log *slog.Logger) (*Scheduler, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := job.Validate(); err != nil {
		return nil, fmt.Errorf("cluster schedule: %w", err)
	}
	sched, err := parseSchedule(spec)
	if err != nil {
		return nil, err
	}
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(cronLogger{log})), cron.WithLogger(cronLogger{log}))
	c.Schedule(sched, cron.FuncJob(func() {
		if ctx.Err() != nil {
			return
		}
		log.Info("cluster run starting", "schedule", spec)
		outs, err := job.Run(ctx)
		switch {
		case errors.Is(err, ErrBusy):
			log.Warn("cluster run skipped: the previous run is still going", "schedule", spec)
		case err != nil:
			log.Error("cluster run ended with errors", "schedule", spec, "audiences_done", len(outs), "err", err)
		default:
			log.Info("cluster run done", "schedule", spec, "audiences", len(outs))
		}
	}))
	s := &Scheduler{c: c, done: make(chan struct{})}
	c.Start()
	go func() {
		<-ctx.Done()
		<-c.Stop().Done()
		close(s.done)
	}()
	return s, nil
}

// Next returns when the job runs next.
func (s *Scheduler) Next() string {
	es := s.c.Entries()
	if len(es) == 0 {
		return ""
	}
	return es[0].Next.Format("2006-01-02T15:04:05Z07:00")
}

// Done is closed when the schedule has stopped and no run is under way.
func (s *Scheduler) Done() <-chan struct{} { return s.done }

// cronLogger sends the cron library's messages to slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
