# cascade-lake: Intel Xeon Scalable, Cascade Lake, as in PVM (SOSP'23: 2.5 GHz, L0 with VMCS shadowing).
#
# Format (docs/cost-model.md): "key value", one a line, every key exactly
# once; a '#' starts a comment. Each number names its source (anchors.md);
# a key no source gives a number for says "no published figure".

name            cascade-lake

# The clock, for traces only (seconds = cycles / frequency); never charged.
freq_mhz        2500  # PVM, SOSP'23: 2.5 GHz

# Instructions.
insn            1     # no published figure: 1 cycle per instruction, the model's base rate
cpuid           1     # no published figure for this generation: the base CPI
rdmsr           1     # no published figure: the base CPI
wrmsr           1     # no published figure: the base CPI
pio             1     # no published figure: the base CPI

# Memory.
tlb_miss        0     # no published figure: a walk costs only its steps
walk_step       0     # no published figure: 0
ept_walk_step   0     # no published figure: 0

# Events.
event           0     # no published figure for IDT delivery alone: 0

# VMX transitions and instructions.
vm_entry        0     # no published figure for the entry alone: the round trip below is charged at the exit
vm_exit         503   # vmlatency results/: VMRESUME + CPUID exit round trip, Cascade Lake: 503
vmread          52    # no published figure for this generation: Core 2 Merom's 52 (Adams & Agesen, ASPLOS'06, Table 1), the latest generation measured
vmwrite         44    # no published figure for this generation: Core 2 Merom's 44 (Adams & Agesen, Table 1)
shadow_vmread   52    # no published figure for a shadowed VMREAD (PVM gives round trips only): the root VMREAD figure above, the same instruction on the shadow VMCS
shadow_vmwrite  44    # no published figure for a shadowed VMWRITE (PVM gives round trips only): the root VMWRITE figure above, the same instruction on the shadow VMCS
vmx_insn        1     # no published figure: the base CPI

# Published cycles per CPUID round trip, printed next to ours, never charged.
ref_cpuid_bare   503    # vmlatency results/: VMRESUME + CPUID exit round trip, Cascade Lake: 503
ref_cpuid_single 1350   # PVM, SOSP'23, Table 1: CPUID 0.54 us single level at 2.5 GHz (derived: 0.54 x 2,500)
ref_cpuid_nested 17750  # PVM, SOSP'23, Table 1: CPUID 7.10 us nested at 2.5 GHz (derived: 7.10 x 2,500)
