/**
 * The capture layer: pcap/pcapng reading and writing, link layers, IP/UDP/TCP
 * decoding and synthesis, TCP reassembly. Pure functions on bytes: no file
 * system, sockets or clock (the CLI reads files and passes the bytes in).
 */
export * from './checksum';
export * from './errors';
export * from './file';
export * from './frame';
export * from './ip';
export * from './link';
export * from './packet';
export * from './pcap';
export * from './pcapng';
export * from './reassembly';
export * from './synth';
export * from './transport';
export * from './writer';
export * from './extract';
