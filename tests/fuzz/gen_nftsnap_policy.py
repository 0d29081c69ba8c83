#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
Writes daemon/sources/nftsnap_policy_tables.h (stdout) from the attribute documentation of the
uapi headers: every nf_tables attribute with the type the kernel documents for it, which
is what the kernel's dumps carry. daemon/sources/nftsnap_policy.c checks dump messages against
them before libnftnl sees them (found by fuzz_netlink: libnftnl 1.2.4 trusts them).

    python3 tests/fuzz/gen_nftsnap_policy.py > daemon/sources/nftsnap_policy_tables.h
"""
import re, sys
src = open('/usr/include/linux/netfilter/nf_tables.h').read()
compat = open('/usr/include/linux/netfilter/nf_tables_compat.h').read()
enums = {}
for m in re.finditer(r'enum (nft_\w+_attributes) \{(.*?)\};', src + compat, re.S):
    name, body = m.group(1), re.sub(r'/\*.*?\*/', '', m.group(2), flags=re.S)
    members = [x.strip().split('=')[0].strip() for x in body.split(',')]
    members = [x for x in members if x and not x.startswith('__') and not x.startswith('//')]
    docm = re.search(r'/\*\*\s*\n \* enum ' + name + r'\b(.*?)\*/', src, re.S)
    doc = docm.group(1) if docm else ''
    types = {}
    for a, t in re.findall(r'@(NFTA_\w+):[^\n]*?\((NLA_[A-Z0-9_]+[^)]*)\)', doc):
        types[a] = t
    enums[name] = (members, types)
# attributes that are lists, and what each element is
LISTS = {
    'NFTA_RULE_EXPRESSIONS': 'PC_NLP_EXPR', 'NFTA_SET_EXPRESSIONS': 'PC_NLP_EXPR',
    'NFTA_SET_ELEM_EXPRESSIONS': 'PC_NLP_EXPR', 'NFTA_DYNSET_EXPRESSIONS': 'PC_NLP_EXPR',
    'NFTA_SET_ELEM_LIST_ELEMENTS': 'nft_set_elem_attributes', 'NFTA_HOOK_DEVS': 'PC_NLP_STRING',
    'NFTA_SET_DESC_CONCAT': 'nft_set_field_attributes',
}
SINGLE_EXPR = {'NFTA_SET_EXPR', 'NFTA_SET_ELEM_EXPR', 'NFTA_DYNSET_EXPR'}
MANUAL = {  # undocumented or misdocumented types, as the kernel's policies have them
    'NFTA_QUOTA_BYTES': 'NLA_U64',  # documented as NLA_U16
    'NFTA_TABLE_HANDLE': 'NLA_U64', 'NFTA_RULE_CHAIN_ID': 'NLA_U32', 'NFTA_SOCKET_LEVEL': 'NLA_U32',
    'NFTA_TPROXY_FAMILY': 'NLA_U32', 'NFTA_TPROXY_REG_ADDR': 'NLA_U32', 'NFTA_TPROXY_REG_PORT': 'NLA_U32',
    'NFTA_HASH_SET_ID': 'NLA_U32', 'NFTA_NG_SET_ID': 'NLA_U32', 'NFTA_FLOW_TABLE_NAME': 'NLA_STRING',
    'NFTA_TUNNEL_KEY': 'NLA_U32', 'NFTA_TUNNEL_DREG': 'NLA_U32', 'NFTA_TUNNEL_MODE': 'NLA_U32',
    'NFTA_LOG_GROUP': 'NLA_U16', 'NFTA_LOG_QTHRESHOLD': 'NLA_U16',  # documented as NLA_U32
    'NFTA_FIB_DREG': 'NLA_U32', 'NFTA_FIB_RESULT': 'NLA_U32', 'NFTA_FIB_FLAGS': 'NLA_U32',
    'NFTA_XFRM_DREG': 'NLA_U32', 'NFTA_XFRM_KEY': 'NLA_U32', 'NFTA_XFRM_DIR': 'NLA_U8',
    'NFTA_XFRM_SPNUM': 'NLA_U32',
    'NFTA_CHAIN_FLAGS': 'NLA_U32', 'NFTA_BITWISE_DATA': 'NLA_NESTED: nft_data_attributes',
    'NFTA_SET_DESC': 'NLA_NESTED: nft_set_desc_attributes',
    'NFTA_SOCKET_KEY': 'NLA_U32', 'NFTA_SOCKET_DREG': 'NLA_U32',
    'NFTA_TARGET_NAME': 'NLA_STRING', 'NFTA_TARGET_REV': 'NLA_U32', 'NFTA_TARGET_INFO': 'NLA_BINARY',
    'NFTA_MATCH_NAME': 'NLA_STRING', 'NFTA_MATCH_REV': 'NLA_U32', 'NFTA_MATCH_INFO': 'NLA_BINARY',
}
used = set()
def kind(attr, t):
    if attr in LISTS:
        el = LISTS[attr]
        if el.startswith('PC_NLP_'):
            return '{PC_NLP_LIST, %s, NULL}' % el
        used.add(el)
        return '{PC_NLP_LIST, PC_NLP_NESTED, &policy_%s}' % el[4:-11]
    if attr in ('NFTA_SET_ELEM_KEY', 'NFTA_SET_ELEM_KEY_END'):
        return '{PC_NLP_KEY, 0, NULL}'
    if attr in SINGLE_EXPR:
        return '{PC_NLP_EXPR, 0, NULL}'
    t = MANUAL.get(attr, t)
    if t is None:
        return None
    base = t.split(':')[0].strip()
    sub = t.split(':')[1].strip() if ':' in t else None
    if base == 'NLA_NESTED':
        if sub in ('nft_data_attributes', 'nft_data'):
            return '{PC_NLP_DATA, 0, NULL}'
        if sub == 'nft_expr_attributes':
            return '{PC_NLP_EXPR, 0, NULL}'
        if sub and sub in enums and sub != 'nft_list_attributes':
            used.add(sub)
            return '{PC_NLP_NESTED, 0, &policy_%s}' % sub[4:-11]
        return '{PC_NLP_NESTED, 0, NULL}'
    m = {'NLA_U8': 'PC_NLP_U8', 'NLA_U16': 'PC_NLP_U16', 'NLA_BE16': 'PC_NLP_U16',
         'NLA_U32': 'PC_NLP_U32', 'NLA_BE32': 'PC_NLP_U32', 'NLA_U64': 'PC_NLP_U64',
         'NLA_BE64': 'PC_NLP_U64', 'NLA_STRING': 'PC_NLP_STRING', 'NLA_NUL_STRING': 'PC_NLP_STRING'}.get(base)
    if not m:
        return None
    return '{%s, 0, NULL}' % m
EXPR_NAMES = {'ng': 'numgen', 'offload': 'flow_offload'}
SKIP = {'nft_list_attributes', 'nft_expr_attributes', 'nft_object_attributes', 'nft_flowtable_attributes',
        'nft_flowtable_hook_attributes', 'nft_trace_attributes', 'nft_gen_attributes', 'nft_device_attributes',
        'nft_devices_attributes', 'nft_secmark_attributes', 'nft_ct_helper_attributes',
        'nft_ct_timeout_timeout_attributes', 'nft_ct_expectation_attributes', 'nft_tunnel_key_ip_attributes',
        'nft_tunnel_ip6_attributes', 'nft_tunnel_opts_attributes', 'nft_tunnel_opts_vxlan_attributes',
        'nft_tunnel_opts_erspan_attributes', 'nft_tunnel_opts_geneve_attributes', 'nft_tunnel_key_attributes',
        }
out = []
order = []
def emit(name):
    members, types = enums[name]
    rows = []
    for a in members[1:]:
        k = kind(a, types.get(a))
        if k:
            rows.append('\t[%s] = %s,' % (a, k))
    out.append((name, rows))
names = [n for n in enums if n not in SKIP]
for n in names:
    emit(n)
# nested-first order: emit referenced ones before users; simple: all declarations first
print('/* SPDX-License-Identifier: MIT */')
print('/*')
print(' * Generated by tests/fuzz/gen_nftsnap_policy.py from the attribute documentation in')
print(' * <linux/netfilter/nf_tables.h> and <linux/netfilter/nf_tables_compat.h>: do not edit.')
print(' * Attributes without a documented type are not checked. Included by nftsnap_policy.c.')
print(' */')
print('#pragma once')
print('')
print('/* Generated layout: one attribute a line, as the generator writes it. */')
print('/* clang-format off */')
print()
for n, rows in out:
    print('static const struct pc_nl_policy policy_%s;' % n[4:-11])
print()
for n, rows in out:
    members = enums[n][0]
    print('static const struct pc_nl_attr_policy policy_%s_attrs[] = {' % n[4:-11])
    print('\n'.join(rows))
    print('};')
    # libnftnl 1.2.4 indexes an array of NFTA_SET_ELEM_MAX + 1 by types up to a larger
    # maximum: an element or a data register with a type beyond ours smashes its stack.
    strict = 'true' if n in ('nft_set_elem_attributes', 'nft_data_attributes') else 'false'
    print('static const struct pc_nl_policy policy_%s = {"%s", ELEMENTSOF(policy_%s_attrs), policy_%s_attrs, %s};' % (n[4:-11], n[4:-11], n[4:-11], n[4:-11], strict))
    print()
# expressions: every nft_X_attributes that is an expression
EXPRS = ['immediate','bitwise','byteorder','cmp','range','lookup','dynset','payload','exthdr','hash','meta','rt','socket','ct','offload','limit','connlimit','counter','last','log','queue','quota','reject','nat','masq','redir','dup','fwd','objref','osf','synproxy','fib','xfrm','ng','target','match','tproxy','tunnel']
print('/* libnftnl expression name -> the attributes of its NFTA_EXPR_DATA. */')
print('static const struct {\n\tconst char *name;\n\tconst struct pc_nl_policy *policy;\n} expr_policies[] = {')
for e in EXPRS:
    en = 'nft_%s_attributes' % e
    if en in enums and en not in SKIP:
        print('\t{"%s", &policy_%s},' % (EXPR_NAMES.get(e, e), e))
    else:
        print('\t/* %s: no enum */' % e, file=sys.stderr)
print('};')
