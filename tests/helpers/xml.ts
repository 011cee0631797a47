/** The XML reader moved to src/formats/xml-parse.ts (the harvester reads OAI-PMH with it); tests keep importing it from here. */
export { child, childTexts, findAll, parseXml, XmlError, type XmlElement } from '../../src/formats/xml-parse.ts';
