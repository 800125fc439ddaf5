// The compiled parts of Boost.Beast, Boost.Asio and Asio's SSL support, once
// for the whole program (BOOST_BEAST_SEPARATE_COMPILATION and
// BOOST_ASIO_SEPARATE_COMPILATION are set on this library): every other file
// that includes them sees declarations only, which keeps their compile time
// down on 2 cores.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
