# p4-prescott: Intel Pentium 4 672 "Prescott", 3.8 GHz, the first VT-x
# processor: the hardware VMM of Adams & Agesen, "A Comparison of Software
# and Hardware Techniques for x86 Virtualization" (ASPLOS'06).
#
# Format (docs/cost-model.md): "key value", one a line, every key exactly
# once; a '#' starts a comment. Each number names its source (anchors.md);
# a key no source gives a number for says "no published figure".

name            p4-prescott

# The clock, for traces only (seconds = cycles / frequency); never charged.
freq_mhz        3800  # Pentium 4 672: 3.8 GHz (Adams & Agesen, ASPLOS'06)

# Instructions.
insn            1     # no published figure: 1 cycle per instruction, the model's base rate
cpuid           1     # no published figure: the base CPI
rdmsr           1     # no published figure: the base CPI
wrmsr           1     # no published figure: the base CPI
pio             3209  # Adams & Agesen, "in" nanobenchmark, native: 3,209

# Memory. Prescott has no EPT: ept_walk_step never applies on this machine.
tlb_miss        0     # no published figure: a walk costs only its steps
walk_step       0     # no published figure: 0
ept_walk_step   0     # no published figure (no EPT on Prescott): 0

# Events.
event           0     # no published figure for IDT delivery alone: A&A's divzero (889) and pgfault (1,093) are whole round trips with a handler, compared in docs/cost-model.md

# VMX transitions and instructions.
vm_entry        2409  # Adams & Agesen, ASPLOS'06, Table 1: VM entry 2,409
vm_exit         1931  # Adams & Agesen, Table 1: page-fault VM exit 1,931 (the one exit measured; used for every reason)
vmread          178   # Adams & Agesen, Table 1: VMREAD 178
vmwrite         171   # Adams & Agesen, Table 1: VMWRITE 171
shadow_vmread   178   # no published figure: the P4 has no VMCS shadowing (it came with Haswell): for what-if runs, the root VMREAD figure above
shadow_vmwrite  171   # no published figure: the P4 has no VMCS shadowing (it came with Haswell): for what-if runs, the root VMWRITE figure above
vmx_insn        1     # no published figure: the base CPI

# The software VMM's charges under binary translation (docs/design/bt.md).
bt_translate_insn 2300 # Adams & Agesen, ASPLOS'06, section 6.3: about 2,300 cycles per translated instruction
bt_callout        1254 # Adams & Agesen: RDTSC by callout-and-emulate, 1,254
bt_trap           2030 # Adams & Agesen: RDTSC by trap-and-emulate, 2,030
bt_rdtsc_tc       216  # Adams & Agesen: RDTSC emulated in the translation cache, 216

# Published cycles per CPUID round trip, printed next to ours, never charged.
ref_cpuid_bare   none   # no published figure for Prescott
ref_cpuid_single none   # no published figure for Prescott
ref_cpuid_nested none   # no nested VMX on Prescott in any source
