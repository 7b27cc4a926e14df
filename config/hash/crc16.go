package hash

// crc16Table is the table of CRC16-XMODEM (polynomial 0x1021, initial value
// 0, no reflection), the CRC Redis Cluster uses for key slots.
var crc16Table = makeCRC16Table(0x1021)

func makeCRC16Table(poly uint16) (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ poly
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}

// crc16 returns the CRC16-XMODEM of p.
func crc16(p []byte) uint16 {
	var c uint16
	for _, b := range p {
		c = c<<8 ^ crc16Table[byte(c>>8)^b]
	}
	return c
}

func sumCRC16(p []byte) uint64 { return uint64(crc16(p)) }
