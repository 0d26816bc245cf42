package follows

import (
	"archive/zip"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxRecord caps one record of a stream (a JSON array element, a CSV
// row): a follow is a few hundred bytes, and without a cap one endless
// string would make the decoder buffer the whole file.
const maxRecord = 1 << 20

var errRecordTooLarge = errors.New("record too large")

// meter counts the bytes read since the last reset, so that one record
// cannot make a decoder buffer more than maxRecord. Decoders read ahead,
// so the count is approximate, which is fine for a cap.
type meter struct {
	r     io.Reader
	since int
}

func (m *meter) Read(p []byte) (int, error) {
	if m.since > maxRecord {
		return 0, errRecordTooLarge
	}
	n, err := m.r.Read(p)
	m.since += n
	return n, err
}

func (m *meter) reset() { m.since = 0 }

// fail turns an error met while reading into an *Error for file at
// where, saying in words what went wrong. An *Error keeps its words and
// gains the file and place if it has none.
func fail(file, where string, err error, lim Limits) error {
	var e *Error
	if errors.As(err, &e) {
		if e.File != "" {
			return e
		}
		placed := *e
		placed.File, placed.Where = file, where
		return &placed
	}
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		deflated flate.CorruptInputError
	)
	switch {
	case errors.Is(err, errCapped):
		return tooLarge(file, where, "more than the cap of %d bytes (counted after decompression)", lim.MaxBytes)
	case errors.Is(err, errBomb):
		return tooLarge(file, where, "inflates more than %d times its compressed size: a zip bomb, not an export", maxRatio)
	case errors.Is(err, errRecordTooLarge):
		return tooLarge(file, where, "one record is larger than %d bytes", maxRecord)
	case errors.As(err, &syntax):
		return errorf(file, where, "not valid JSON: %v", syntax)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the record"
		}
		return errorf(file, where, "wrong shape: %s is a JSON %s, where the format has %s", field, typ.Value, jsonKind(typ.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errorf(file, where, "ends early: the file is cut short; download it again")
	case errors.Is(err, zip.ErrChecksum), errors.As(err, &deflated):
		return errorf(file, where, "damaged compressed data; download the archive again")
	}
	return errorf(file, where, "%v", err)
}

// jsonKind words a Go kind as JSON's.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "a list"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// eachElement reads the rest of the JSON array whose opening bracket dec
// has just read, one element at a time: read decodes the element numbered
// n (from 1). The meter is reset before each element, so each is capped
// on its own.
func eachElement(dec *json.Decoder, m *meter, read func(n int) error) (int, error) {
	n := 0
	for dec.More() {
		n++
		m.reset()
		if err := read(n); err != nil {
			return n, err
		}
	}
	m.reset()
	return n, expectDelim(dec, ']')
}

// errShape is a JSON document whose outer shape is not the format's.
type errShape struct{ want, got string }

func (e errShape) Error() string { return fmt.Sprintf("wrong shape: want %s, found %s", e.want, e.got) }

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return errShape{want: delimName(d), got: tokenName(tok)}
	}
	return nil
}

func delimName(d json.Delim) string {
	switch d {
	case '[':
		return "a list"
	case ']':
		return "the end of the list"
	case '{':
		return "an object"
	}
	return "the end of the object"
}

func tokenName(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return delimName(t)
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "true or false"
	}
	return "a number"
}

// expectEnd requires nothing but white space (and, after a JavaScript
// assignment, one semicolon) after the document dec read from src.
func expectEnd(dec *json.Decoder, src io.Reader, semicolon bool) error {
	rest := io.MultiReader(dec.Buffered(), src)
	buf := make([]byte, 512)
	for {
		n, err := rest.Read(buf)
		for _, c := range buf[:n] {
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			case c == ';' && semicolon:
				semicolon = false
			default:
				return fmt.Errorf("unexpected %q after the end of the document", c)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
