package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/verband-cti/verband/ingest/pipeline"
)

// plainInterval is how often progress is printed as plain lines when
// stderr is not a terminal.
const plainInterval = 5 * time.Second

// loadProgress renders pipeline progress on w: a progress bar with rate
// and ETA when w is a terminal, a plain line every few seconds otherwise.
type loadProgress struct {
	w     io.Writer
	label string
	bar   *progressbar.ProgressBar
	tty   bool
	last  time.Time
}

func newLoadProgress(w io.Writer, label string) *loadProgress {
	return &loadProgress{w: w, label: label, tty: isTerminal(w), last: time.Now()}
}

// update is a pipeline.Options.Progress callback.
func (p *loadProgress) update(pr pipeline.Progress) {
	if p.tty {
		p.updateBar(pr)
		return
	}
	if pr.Done || time.Since(p.last) < plainInterval {
		return
	}
	p.last = time.Now()
	rate := float64(pr.Objects) / pr.Elapsed.Seconds()
	line := fmt.Sprintf("%s: %s", p.label, byteCount(pr.BytesRead))
	if pr.BytesTotal > 0 {
		pct := float64(pr.BytesRead) / float64(pr.BytesTotal)
		line += fmt.Sprintf(" of %s (%.0f%%)", byteCount(pr.BytesTotal), 100*pct)
		if pct > 0 {
			eta := time.Duration(float64(pr.Elapsed) * (1 - pct) / pct)
			line += fmt.Sprintf(", ETA %s", eta.Round(time.Second))
		}
	}
	line += fmt.Sprintf(", %d objects read, %d committed, %.0f objects/s", pr.Objects, pr.Committed, rate)
	if pr.Rejected > 0 {
		line += fmt.Sprintf(", %d rejected", pr.Rejected)
	}
	fmt.Fprintln(p.w, line)
}

func (p *loadProgress) updateBar(pr pipeline.Progress) {
	if p.bar == nil {
		total := pr.BytesTotal
		if total <= 0 {
			total = -1 // a spinner
		}
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.label),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(25),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
		)
	}
	desc := fmt.Sprintf("%s: %d objects, %.0f/s", p.label, pr.Objects, float64(pr.Objects)/pr.Elapsed.Seconds())
	if pr.Rejected > 0 {
		desc += fmt.Sprintf(", %d rejected", pr.Rejected)
	}
	p.bar.Describe(desc)
	p.bar.Set64(pr.BytesRead)
	if pr.Done {
		p.bar.Finish()
	}
}

// countProgress renders a count of done items of total on w, as a bar on a
// terminal and plain lines otherwise.
type countProgress struct {
	w     io.Writer
	label string
	unit  string // what is counted, such as "objects"
	total int
	bar   *progressbar.ProgressBar
	start time.Time
	last  time.Time
}

func newCountProgress(w io.Writer, label, unit string, total int) *countProgress {
	p := &countProgress{w: w, label: label, unit: unit, total: total, start: time.Now(), last: time.Now()}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(25),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return p
}

func (p *countProgress) update(done int) {
	if p.bar != nil {
		p.bar.Set(done)
		return
	}
	if time.Since(p.last) < plainInterval {
		return
	}
	p.last = time.Now()
	rate := float64(done) / time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "%s: %d of %d %s, %.0f %s/s\n", p.label, done, p.total, p.unit, rate, p.unit)
}

func (p *countProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// byteCount renders a size in SI units, such as "45.9 MB".
func byteCount(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
