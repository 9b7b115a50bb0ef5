package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// apiConn is one load-generator client's keep-alive HTTP/1.1 connection to
// the server. The client writes each request and reads its answer in its
// own goroutine, with net/http's request writer and response reader,
// instead of going through http.Transport: the Transport hands every
// request to a writing and a reading goroutine of the connection, three
// hand-offs a request, and with client and server sharing two processors
// each hand-off is a wait in a run queue that the server's latency would
// be charged with. Measured with verband bench api at one million objects
// and 3,000 requests/s offered: the client's goroutines and the Transport
// took 12% of the CPU. Four runs of each, alternated: with apiConn the
// closed-loop rate was 4,714-4,816 requests/s against 4,541-4,598, the
// 2-hop p50 1.08-1.13 ms against 1.17-1.21, and the 2-hop p99 of the runs
// without a slow second 15.6-19.5 ms against 18.4-22.3 (one run of each
// had a slow second).
//
// An apiConn is not safe for concurrent use; each client has its own.
type apiConn struct {
	addr    string // host:port of the server
	timeout time.Duration
	c       net.Conn // nil until dialled, and after an error or a close
	br      *bufio.Reader
	bw      *bufio.Writer
}

// newAPIConn returns a connection to addr that dials on its first request.
// A request, from writing it to the last byte of its answer, fails after
// timeout.
func newAPIConn(addr string, timeout time.Duration) *apiConn {
	return &apiConn{addr: addr, timeout: timeout}
}

// roundTrip sends req and returns the whole answer: its status and its
// body, read to the end. The connection is kept for the next request
// unless the server asked to close it or something failed; a later request
// then dials again.
func (a *apiConn) roundTrip(ctx context.Context, req *http.Request, body io.Writer) (status int, statusLine string, err error) {
	if a.c == nil {
		d := net.Dialer{Timeout: 5 * time.Second}
		c, err := d.DialContext(ctx, "tcp", a.addr)
		if err != nil {
			return 0, "", fmt.Errorf("dial %s: %w", a.addr, err)
		}
		a.c, a.br, a.bw = c, bufio.NewReaderSize(c, 64<<10), bufio.NewWriterSize(c, 16<<10)
	}
	keep := false
	defer func() {
		if !keep {
			a.Close()
		}
	}()
	deadline := time.Now().Add(a.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := a.c.SetDeadline(deadline); err != nil {
		return 0, "", fmt.Errorf("set the deadline: %w", err)
	}
	// A cancelled context interrupts a request in flight, as with
	// http.Client.
	stop := context.AfterFunc(ctx, func() { _ = a.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := req.Write(a.bw); err != nil {
		return 0, "", fmt.Errorf("write the request: %w", err)
	}
	if err := a.bw.Flush(); err != nil {
		return 0, "", fmt.Errorf("write the request: %w", err)
	}
	resp, err := http.ReadResponse(a.br, req)
	if err != nil {
		return 0, "", fmt.Errorf("read the answer: %w", err)
	}
	_, err = io.Copy(body, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, "", fmt.Errorf("read the answer's body: %w", err)
	}
	keep = !resp.Close && stop()
	return resp.StatusCode, resp.Status, nil
}

// Close closes the connection, if it is open.
func (a *apiConn) Close() {
	if a.c != nil {
		a.c.Close()
		a.c, a.br, a.bw = nil, nil, nil
	}
}
