package model

// skip consumes one msgpack value of any type. depth is the nesting level of
// the value (the body map's entries are at 1); arrays and maps deeper than
// MaxSkipDepth are refused. Each value takes at least one byte, so the work is
// bounded by the input length whatever the headers claim.
func (d *decoder) skip(depth int) error {
	if depth > MaxSkipDepth {
		return d.errorf("nesting deeper than %d", MaxSkipDepth)
	}
	c, err := d.byte()
	if err != nil {
		return err
	}
	switch {
	case c <= fixIntMax || c >= mpNegFix:
		return nil
	case c&^fixLenMask == mpFixMap:
		return d.skipValues(2*uint64(c&fixLenMask), depth)
	case c&^fixLenMask == mpFixArray:
		return d.skipValues(uint64(c&fixLenMask), depth)
	case c&^fixStrMask == mpFixStr:
		return d.skipBytes(uint64(c & fixStrMask))
	}
	switch c {
	case mpNil, mpFalse, mpTrue:
		return nil
	case mpBin8, mpStr8:
		return d.skipSized(1, 0)
	case mpBin16, mpStr16:
		return d.skipSized(2, 0)
	case mpBin32, mpStr32:
		return d.skipSized(4, 0)
	case mpExt8:
		return d.skipSized(1, 1) // the length excludes the type byte
	case mpExt16:
		return d.skipSized(2, 1)
	case mpExt32:
		return d.skipSized(4, 1)
	case mpFloat32:
		return d.skipBytes(4)
	case mpFloat64:
		return d.skipBytes(8)
	case mpUint8, mpUint16, mpUint32, mpUint64:
		return d.skipBytes(1 << (c - mpUint8))
	case mpInt8, mpInt16, mpInt32, mpInt64:
		return d.skipBytes(1 << (c - mpInt8))
	case mpFixExt1, mpFixExt1 + 1, mpFixExt1 + 2, mpFixExt1 + 3, mpFixExt16:
		return d.skipBytes(1 + 1<<(c-mpFixExt1)) // type byte + 1, 2, 4, 8 or 16
	case mpArray16, mpArray32, mpMap16, mpMap32:
		return d.skipContainer(c, depth)
	}
	d.p--
	return d.errorf("reserved type byte 0x%02x", c)
}

// skipContainer skips an array16/32 or map16/32 whose type byte was read.
func (d *decoder) skipContainer(c byte, depth int) error {
	width := 2
	if c == mpArray32 || c == mpMap32 {
		width = 4
	}
	n, err := d.uintN(width)
	if err != nil {
		return err
	}
	if c == mpMap16 || c == mpMap32 {
		n *= 2 // cannot overflow: n < 2^32
	}
	return d.skipValues(n, depth)
}

// skipValues skips n values nested one level below depth.
func (d *decoder) skipValues(n uint64, depth int) error {
	for range n {
		if err := d.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// skipSized skips a payload whose length is a big-endian integer of width
// bytes, plus extra bytes.
func (d *decoder) skipSized(width int, extra uint64) error {
	n, err := d.uintN(width)
	if err != nil {
		return err
	}
	return d.skipBytes(n + extra)
}

func (d *decoder) skipBytes(n uint64) error {
	_, err := d.bytes(n)
	return err
}
