/* SPDX-License-Identifier: MIT */
/*
 * fwcfg: reads the fw_cfg device (selector port 0x510, data port 0x511)
 * as firmware does -- the "QEMU" signature first, then the ID, RAM size,
 * CPU counts and the file directory -- and prints them; exits 1 if the
 * signature is missing. Guest side.
 */
#include "guests/rt/rt.h"

#define FWCFG_SEL 0x510
#define FWCFG_DATA 0x511

/* Selects key and reads n bytes of its item as a little-endian number. */
static uint64_t fwcfg_read_le(uint16_t key, unsigned int n)
{
	uint64_t v = 0;

	outw(key, FWCFG_SEL);
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)inb(FWCFG_DATA) << (8 * i);
	return v;
}

int main(const struct nestvm_bootinfo *bi)
{
	char sig[5] = { 0 };
	uint32_t nfiles = 0;

	(void)bi;
	outw(0x00, FWCFG_SEL); /* FW_CFG_SIGNATURE */
	for (int i = 0; i < 4; i++)
		sig[i] = (char)inb(FWCFG_DATA);
	if (memcmp(sig, "QEMU", 4)) {
		printf("fwcfg: no fw_cfg device (signature %02x %02x %02x "
		       "%02x)\n",
		       (uint8_t)sig[0], (uint8_t)sig[1], (uint8_t)sig[2],
		       (uint8_t)sig[3]);
		return 1;
	}
	printf("fwcfg: signature %s\n", sig);
	printf("fwcfg: id %#llx\n", (unsigned long long)fwcfg_read_le(0x01, 4));
	printf("fwcfg: ram size %llu MiB\n",
	       (unsigned long long)(fwcfg_read_le(0x03, 8) >> 20));
	printf("fwcfg: cpus %llu, max cpus %llu\n",
	       (unsigned long long)fwcfg_read_le(0x05, 2),
	       (unsigned long long)fwcfg_read_le(0x0f, 2));
	/* The file directory's count is big-endian. */
	outw(0x19, FWCFG_SEL);
	for (int i = 0; i < 4; i++)
		nfiles = (nfiles << 8) | inb(FWCFG_DATA);
	printf("fwcfg: %u files\n", nfiles);
	/* Past the end of an item: zeros. */
	printf("fwcfg: past the end %#llx\n",
	       (unsigned long long)(fwcfg_read_le(0x05, 4) >> 16));
	return 0;
}
