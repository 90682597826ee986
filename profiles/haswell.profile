# haswell: Intel Haswell (client and server parts share the VMX figure used here).
#
# Format (docs/cost-model.md): "key value", one a line, every key exactly
# once; a '#' starts a comment. Each number names its source (anchors.md);
# a key no source gives a number for says "no published figure".

name            haswell

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
vm_exit         482   # vmlatency results/: VMRESUME + CPUID exit round trip, Haswell: 482
vmread          52    # no published figure for this generation: Core 2 Merom's 52 (Adams & Agesen, ASPLOS'06, Table 1), the latest generation measured
vmwrite         44    # no published figure for this generation: Core 2 Merom's 44 (Adams & Agesen, Table 1)
shadow_vmread   52    # no published figure for a shadowed VMREAD: the root VMREAD figure above, the same instruction on the shadow VMCS
shadow_vmwrite  44    # no published figure for a shadowed VMWRITE: the root VMWRITE figure above, the same instruction on the shadow VMCS
vmx_insn        1     # no published figure: the base CPI

# Published cycles per CPUID round trip, printed next to ours, never charged.
ref_cpuid_bare   482    # vmlatency results/: VMRESUME + CPUID exit round trip, Haswell: 482
ref_cpuid_single none   # no published figure
ref_cpuid_nested none  # no published figure
