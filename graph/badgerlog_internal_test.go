package graph

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// countingArg counts how often a log message formats it.
type countingArg struct{ n *int }

func (c countingArg) String() string {
	*c.n++
	return "arg"
}

// TestBadgerLoggerLevels checks where Badger's messages land: warnings and
// errors as they are, its info chatter at debug, its per-write debug
// messages below debug, so that --log-level debug stays readable; and that
// a message whose level is off is not even formatted, since Badger logs on
// its write path.
func TestBadgerLoggerLevels(t *testing.T) {
	for _, tc := range []struct {
		level slog.Level
		want  []string // lines expected, in order
	}{
		{slog.LevelInfo, []string{"level=WARN msg=\"badger: warn arg\"", "level=ERROR msg=\"badger: error arg\""}},
		{slog.LevelDebug, []string{"level=DEBUG msg=\"badger: info arg\"", "level=WARN msg=\"badger: warn arg\"", "level=ERROR msg=\"badger: error arg\""}},
		{levelBadgerTrace, []string{"level=DEBUG-4 msg=\"badger: debug arg\"", "level=DEBUG msg=\"badger: info arg\"", "level=WARN msg=\"badger: warn arg\"", "level=ERROR msg=\"badger: error arg\""}},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			var buf bytes.Buffer
			h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
				Level: tc.level,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				},
			})
			var formatted int
			arg := countingArg{&formatted}
			b := badgerLogger{slog.New(h)}
			b.Debugf("debug %v\n", arg)
			b.Infof("info %v", arg)
			b.Warningf("warn %v", arg)
			b.Errorf("error %v", arg)

			got := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("at %v logged\n%s\nwant\n%s", tc.level, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if formatted != len(tc.want) {
				t.Errorf("at %v formatted %d messages, want %d (only those logged)", tc.level, formatted, len(tc.want))
			}
		})
	}
}
