package lists

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader reads lines of at most max bytes (without the line end),
// dropping a UTF-8 byte order mark at the start and a '\r' before each
// '\n'. A longer line is skipped and reported as long, so hostile input
// cannot grow the buffer.
type lineReader struct {
	br    *bufio.Reader
	max   int
	n     int // number of the line last returned, from 1
	first bool
}

func newLineReader(r io.Reader, max int) *lineReader {
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= max+2 {
		return &lineReader{br: br, max: max, first: true}
	}
	return &lineReader{br: bufio.NewReaderSize(r, max+2), max: max, first: true}
}

var bom = []byte{0xef, 0xbb, 0xbf}

// next returns the next line, valid until the following call, and whether
// it was too long (the line is then nil). It returns io.EOF after the last
// line, and any read error as it is.
func (l *lineReader) next() (line []byte, long bool, err error) {
	line, err = l.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.n++
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = l.br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, true, err
		}
		return nil, true, nil
	}
	if err != nil && err != io.EOF {
		return nil, false, err
	}
	if len(line) == 0 && err == io.EOF {
		return nil, false, io.EOF
	}
	l.n++
	if l.first {
		l.first = false
		line = bytes.TrimPrefix(line, bom)
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > l.max {
		return nil, true, nil
	}
	return line, false, nil
}
