# nehalem: Intel Xeon of the Nehalem generation (Nehalem/Westmere), the
# test machine of Turtles (Ben-Yehuda et al., OSDI'10: Xeon, 2.9 GHz,
# "Nehalem-class"). nestvm's default profile.
#
# Format (docs/cost-model.md): "key value", one a line, every key exactly
# once; a '#' starts a comment. Each number names its source (the table of
# published figures the project keeps, anchors.md); a key no source gives
# a number for says "no published figure" and what is used instead.
# Copy this file and edit it to model another machine.

name            nehalem

# The clock, for traces only (seconds = cycles / frequency); never charged.
freq_mhz        2900  # Turtles, OSDI'10: the test machine's Xeon at 2.9 GHz

# Instructions.
insn            1     # no published figure: 1 cycle per instruction, the model's base rate (no CPI for these workloads is published)
cpuid           100   # Turtles, OSDI'10: "cpuid: native ~100 cycles"
rdmsr           1     # no published figure: the base CPI
wrmsr           1     # no published figure: the base CPI
pio             1     # no published figure: the base CPI (the P4 "in" figure is a different machine and port)

# Memory.
tlb_miss        0     # no published figure: a walk costs only its steps
walk_step       0     # no published figure (Bhargava et al. give reference counts, not cycles): 0
ept_walk_step   0     # no published figure: 0; a 2D walk's 24 references (Bhargava et al., ASPLOS'08) are counted in walk_steps + ept_walk_steps

# Events.
event           0     # no published figure for IDT delivery alone: 0

# VMX transitions and instructions.
vm_entry        0     # no published figure for the entry alone: the round trip below is charged at the exit
vm_exit         952   # vmlatency results/: VMRESUME + CPUID exit round trip, Nehalem: 952 (Turtles sec. 4.3: ~1,000 per guest-to-root-and-back switch)
vmread          52    # no published figure for Nehalem: Core 2 Merom's 52 (Adams & Agesen, ASPLOS'06, Table 1), the latest generation measured
vmwrite         44    # no published figure for Nehalem: Core 2 Merom's 44 (Adams & Agesen, Table 1)
shadow_vmread   52    # no published figure: Nehalem has no VMCS shadowing (it came with Haswell): for what-if runs, the root VMREAD figure above
shadow_vmwrite  44    # no published figure: Nehalem has no VMCS shadowing (it came with Haswell): for what-if runs, the root VMWRITE figure above
vmx_insn        1     # no published figure: the base CPI

# Published cycles per CPUID round trip, printed next to ours, never charged.
ref_cpuid_bare   952    # vmlatency results/, Nehalem
ref_cpuid_single 2600   # Turtles, OSDI'10: single level ~2,600
ref_cpuid_nested 58000  # Turtles, OSDI'10: nested ~58,000
