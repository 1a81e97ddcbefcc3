/** @module The STIX 2.1 cyber-observable vocabulary the pattern parser checks object paths against (STIX 2.1 §6). */

/** Properties every cyber-observable object may carry, whatever its type. @see STIX 2.1 §3.1, §6 */
export const SCO_COMMON_PROPERTIES: readonly string[] = [
  'type',
  'id',
  'spec_version',
  'object_marking_refs',
  'granular_markings',
  'defanged',
  'extensions',
];

/** The top-level properties of each cyber-observable type STIX 2.1 defines. @see STIX 2.1 §6.1–§6.18 */
export const SCO_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  artifact: ['mime_type', 'payload_bin', 'url', 'hashes', 'encryption_algorithm', 'decryption_key'],
  'autonomous-system': ['number', 'name', 'rir'],
  directory: ['path', 'path_enc', 'ctime', 'mtime', 'atime', 'contains_refs'],
  'domain-name': ['value', 'resolves_to_refs'],
  'email-addr': ['value', 'display_name', 'belongs_to_ref'],
  'email-message': [
    'is_multipart',
    'date',
    'content_type',
    'from_ref',
    'sender_ref',
    'to_refs',
    'cc_refs',
    'bcc_refs',
    'message_id',
    'subject',
    'received_lines',
    'additional_header_fields',
    'body',
    'body_multipart',
    'raw_email_ref',
  ],
  file: ['hashes', 'size', 'name', 'name_enc', 'magic_number_hex', 'mime_type', 'ctime', 'mtime', 'atime', 'parent_directory_ref', 'contains_refs', 'content_ref'],
  'ipv4-addr': ['value', 'resolves_to_refs', 'belongs_to_refs'],
  'ipv6-addr': ['value', 'resolves_to_refs', 'belongs_to_refs'],
  'mac-addr': ['value'],
  mutex: ['name'],
  'network-traffic': [
    'start',
    'end',
    'is_active',
    'src_ref',
    'dst_ref',
    'src_port',
    'dst_port',
    'protocols',
    'src_byte_count',
    'dst_byte_count',
    'src_packets',
    'dst_packets',
    'ipfix',
    'src_payload_ref',
    'dst_payload_ref',
    'encapsulates_refs',
    'encapsulated_by_ref',
  ],
  process: ['is_hidden', 'pid', 'created_time', 'cwd', 'command_line', 'environment_variables', 'opened_connection_refs', 'creator_user_ref', 'image_ref', 'parent_ref', 'child_refs'],
  software: ['name', 'cpe', 'swid', 'languages', 'vendor', 'version'],
  url: ['value'],
  'user-account': [
    'user_id',
    'credential',
    'account_login',
    'account_type',
    'display_name',
    'is_service_account',
    'is_privileged',
    'can_escalate_privs',
    'is_disabled',
    'account_created',
    'account_expires',
    'credential_last_changed',
    'account_first_login',
    'account_last_login',
  ],
  'windows-registry-key': ['key', 'values', 'modified_time', 'creator_user_ref', 'number_of_subkeys'],
  'x509-certificate': [
    'is_self_signed',
    'hashes',
    'version',
    'serial_number',
    'signature_algorithm',
    'issuer',
    'validity_not_before',
    'validity_not_after',
    'subject',
    'subject_public_key_algorithm',
    'subject_public_key_modulus',
    'subject_public_key_exponent',
    'x509_v3_extensions',
  ],
};

/** The cyber-observable type names STIX 2.1 defines. @see STIX 2.1 §6 */
export const SCO_TYPES: readonly string[] = Object.keys(SCO_PROPERTIES);

/** The domain and relationship object type names STIX 2.1 defines, plus its meta objects. @see STIX 2.1 §4, §5, §7 */
export const SDO_SRO_TYPES: readonly string[] = [
  'attack-pattern',
  'campaign',
  'course-of-action',
  'grouping',
  'identity',
  'incident',
  'indicator',
  'infrastructure',
  'intrusion-set',
  'location',
  'malware',
  'malware-analysis',
  'note',
  'observed-data',
  'opinion',
  'report',
  'threat-actor',
  'tool',
  'vulnerability',
  'relationship',
  'sighting',
  'language-content',
  'marking-definition',
  'extension-definition',
];

/** True when `type` names a cyber-observable type STIX 2.1 defines. @see STIX 2.1 §6 */
export function isKnownScoType(type: string): boolean {
  return Object.hasOwn(SCO_PROPERTIES, type);
}

/**
 * True when `property` may appear at the top of an object path on `type`: a defined property, a
 * common one, or a custom `x_` property (custom properties on defined types need the prefix).
 * @see STIX 2.1 §9.4, §11.1
 */
export function isKnownScoProperty(type: string, property: string): boolean {
  const own = SCO_PROPERTIES[type];
  if (own === undefined) return false;
  return own.includes(property) || SCO_COMMON_PROPERTIES.includes(property) || property.startsWith('x_');
}
